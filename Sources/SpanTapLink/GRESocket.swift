import CSpanTapSys
import Glibc
import SpanTapSystem
import SystemPackage

/// The socket a remote (ERSPAN or GRE) output sends through: raw IP protocol 47, connected to
/// the collector, so the kernel's routing picks the source and the egress and adds the outer IP
/// header; spantapd writes the GRE header and the frame (`spantap_gre_socket` says how it is set
/// up: DF, receives nothing).
public final class GRESocket: Sendable {
    public let descriptor: FileDescriptor
    public let isIPv6: Bool

    /// `name`: the output's, for errors. Addresses are IPv4 or IPv6 text of the same family.
    public init(name: String, remote: String, local: String?) throws(LinkError) {
        let family = remote.contains(":") ? AF_INET6 : AF_INET
        var remoteBytes = [UInt8](repeating: 0, count: 16), localBytes = [UInt8](repeating: 0, count: 16)
        guard inet_pton(family, remote, &remoteBytes) == 1, local.map({ inet_pton(family, $0, &localBytes) == 1 }) ?? true else {
            throw LinkError(operation: "open GRE socket", device: name, errno: .invalidArgument,
                            message: "remote \(remote) and local \(local ?? "-") are not addresses of one family")
        }
        var step: UnsafePointer<CChar>?
        let fd = local == nil ? spantap_gre_socket(family, remoteBytes, nil, &step)
                              : spantap_gre_socket(family, remoteBytes, localBytes, &step)
        guard fd >= 0 else {
            let errno = Errno.last
            throw LinkError(operation: "open GRE socket", device: name, errno: errno,
                            message: "\(step.map { String(cString: $0) } ?? "socket") for remote \(remote) failed: \(errno)")
        }
        descriptor = FileDescriptor(rawValue: fd)
        isIPv6 = family == AF_INET6
    }

    deinit { try? descriptor.close() }
}
