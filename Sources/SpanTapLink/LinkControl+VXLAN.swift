import CLibNLRoute
import Glibc

extension LinkControl {
    /// Creates the VXLAN link `name` (down) as `configuration` describes: unicast remote, no
    /// learning, the given MTU and alias. Fails with EEXIST if the name, or the VNI on that port,
    /// is taken.
    public func createVXLAN(_ name: String, _ configuration: VXLANConfiguration) throws {
        let operation = "create VXLAN"
        try InterfaceName.validate(name, operation: operation)
        try socket.withLock { socket in
            guard let link = rtnl_link_vxlan_alloc() else { throw LinkError(operation: operation, device: name, errno: .noMemory) }
            defer { rtnl_link_put(link) }
            rtnl_link_set_name(link, name)
            rtnl_link_set_mtu(link, configuration.mtu)
            rtnl_link_set_ifalias(link, configuration.alias)
            rtnl_link_vxlan_set_id(link, configuration.vni)
            rtnl_link_vxlan_set_port(link, UInt32(configuration.dstport))
            rtnl_link_vxlan_disable_learning(link)
            // libnl sends a group of either family as IFLA_VXLAN_GROUP / GROUP6, as `ip ... remote` does.
            try Self.withAddress(configuration.remote, operation: operation, device: name) { rtnl_link_vxlan_set_group(link, $0) }
            if let local = configuration.local {
                try Self.withAddress(local, operation: operation, device: name) { rtnl_link_vxlan_set_local(link, $0) }
            }
            try socket.add(link, operation: operation, device: name)
        }
    }

    private static func withAddress(_ text: String, operation: String, device: String,
                                    _ body: (OpaquePointer) -> Int32) throws {
        var address: OpaquePointer?
        let parsed = nl_addr_parse(text, AF_UNSPEC, &address)
        guard parsed == 0, let address else {
            throw LinkError(operation: operation, device: device, netlinkCode: parsed == 0 ? -NLE_INVAL : parsed)
        }
        defer { nl_addr_put(address) }
        let status = body(address)
        if status < 0 { throw LinkError(operation: operation, device: device, netlinkCode: status) }
    }
}
