import CLibNLRoute
import Glibc

extension LinkInfo {
    /// Copies the fields SpanTap cares about out of a libnl link object (from rtnl_link_get_kernel).
    init(_ link: OpaquePointer) {
        var address: EthernetAddress?
        if let nlAddress = rtnl_link_get_addr(link), let binary = nl_addr_get_binary_addr(nlAddress) {
            let length = Int(nl_addr_get_len(nlAddress))
            address = EthernetAddress(bytes: UnsafeRawBufferPointer(start: binary, count: length))
        }
        self.init(
            ifindex: rtnl_link_get_ifindex(link),
            name: rtnl_link_get_name(link).map { String(cString: $0) } ?? "",
            flags: rtnl_link_get_flags(link),
            mtu: rtnl_link_get_mtu(link),
            address: address,
            alias: rtnl_link_get_ifalias(link).map { String(cString: $0) },
            txQueueLength: rtnl_link_get_txqlen(link),
            kind: rtnl_link_get_type(link).map { String(cString: $0) })
    }
}
