import CSpanTapSys
import Glibc
import SpanTapSystem
import SystemPackage

/// The client end of spantapd's control socket, used by the `spantap` CLI and by external
/// producers written in Swift. Blocking; one request at a time.
public final class ControlClient {
    public static let defaultPath = "/run/spantap/spantapd.sock"
    public let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var descriptors: [FileDescriptor] = []

    public init(path: String = ControlClient.defaultPath) throws(ControlSocketError) {
        self.path = path
        let address = try UnixSocketAddress(path: path)
        let socket = try makeUnixStreamSocket(path: path)
        // Connected before `fd` is set: a throw once every property is set runs deinit, which
        // would close the descriptor a second time (by then perhaps another thread's).
        guard address.withSockaddr({ connect(socket, $0, $1) }) == 0 else {
            let error = Errno.last
            Glibc.close(socket)
            throw ControlSocketError(operation: "connect to", path: path, errno: error,
                                     hint: error == .noSuchFileOrDirectory || error == .connectionRefused ? "is spantapd running?" : nil)
        }
        fd = socket
    }

    deinit { Glibc.close(fd) }

    /// Sends `request` and waits for its response and any descriptors passed with it (the caller
    /// owns them).
    public func send(_ request: ControlRequest) throws -> (ControlResponse, [FileDescriptor]) {
        try sendRaw(ControlCodec.encodeLine(request))
        return try receiveResponse()
    }

    /// Sends bytes as they are: for tests of how the daemon treats malformed input.
    public func sendRaw(_ bytes: [UInt8]) throws(ControlSocketError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw ControlSocketError(operation: "send to", path: path, errno: Errno.last) }
            offset += n
        }
    }

    /// The next response line; throws if the daemon closed the connection first.
    public func receiveResponse() throws -> (ControlResponse, [FileDescriptor]) {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let response = try ControlCodec.decode(ControlResponse.self, from: buffer[..<newline])
                buffer.removeSubrange(...newline)
                defer { descriptors = [] }
                return (response, descriptors)
            }
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            var received = [Int32](repeating: -1, count: 8)
            var count: Int32 = 0
            let n = spantap_recv_fds(fd, &chunk, chunk.count, &received, 8, &count)
            descriptors += received.prefix(Int(count)).map { FileDescriptor(rawValue: $0) }
            guard n > 0 else {
                throw ControlSocketError(operation: "read response from", path: path,
                                         errno: n == 0 ? .connectionReset : Errno.last)
            }
            buffer += chunk[..<n]
        }
    }
}
