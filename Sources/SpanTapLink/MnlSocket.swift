import CLibMnl
import Glibc
import SpanTapSystem
import SystemPackage

/// A non-blocking libmnl NETLINK_ROUTE socket subscribed to multicast groups; closed when the
/// last reference goes away (which lets a DispatchSource keep it alive until it is cancelled).
// @unchecked: the socket is thread-safe at the syscall level; LinkMonitor uses it from one context.
final class MnlSocket: @unchecked Sendable {
    private let socket: OpaquePointer
    /// Our netlink port id, to recognise replies to our own requests.
    let portID: UInt32

    init(groups: UInt32, receiveBufferSize: Int?) throws {
        guard let socket = mnl_socket_open2(NETLINK_ROUTE, Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)) else {
            throw LinkError(operation: "open link monitor socket", device: "", errno: Errno.last)
        }
        guard mnl_socket_bind(socket, groups, pid_t(MNL_SOCKET_AUTOPID)) == 0 else {
            let errno = Errno.last
            mnl_socket_close(socket)
            throw LinkError(operation: "subscribe to link notifications", device: "", errno: errno)
        }
        if let receiveBufferSize {
            var size = Int32(clamping: receiveBufferSize)
            guard setsockopt(
                mnl_socket_get_fd(socket), SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) == 0
            else {
                let errno = Errno.last
                mnl_socket_close(socket)
                throw LinkError(operation: "size link monitor socket buffer", device: "", errno: errno)
            }
        }
        self.socket = socket
        self.portID = mnl_socket_get_portid(socket)
    }

    deinit {
        mnl_socket_close(socket)
    }

    var fileDescriptor: Int32 { mnl_socket_get_fd(socket) }

    func send(_ message: UnsafeRawBufferPointer) -> Errno? {
        mnl_socket_sendto(socket, message.baseAddress, message.count) < 0 ? Errno.last : nil
    }

    /// One datagram (possibly several netlink messages). ENOBUFS means the kernel dropped
    /// notifications because our receive buffer was full; ENOSPC that a datagram did not fit.
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
        let length = mnl_socket_recvfrom(socket, buffer.baseAddress, buffer.count)
        return length < 0 ? .failure(Errno.last) : .success(length)
    }
}
