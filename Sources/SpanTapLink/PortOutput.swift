import CSpanTapSys
import Glibc
import SpanTapSystem
import SystemPackage

/// A mirror output on an existing L2 port (a physical analyzer port, a veth): frames written to
/// `descriptor` leave through that port's wire, as on a switch's SPAN port.
///
/// The packet socket is bound with protocol 0, so it receives nothing and the kernel never copies
/// the port's own traffic to it.
public final class PortOutput: Sendable {
    public let name: String
    public let ifindex: Int32
    public let descriptor: FileDescriptor

    public init(_ link: LinkInfo) throws(LinkError) {
        let fd = spantap_packet_socket(link.ifindex, 0)
        guard fd >= 0 else {
            throw LinkError(operation: "open packet socket", device: link.name, errno: Errno.last)
        }
        name = link.name
        ifindex = link.ifindex
        descriptor = FileDescriptor(rawValue: fd)
    }

    deinit { try? descriptor.close() }
}
