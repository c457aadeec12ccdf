import Glibc
import SpanTapSystem
import SystemPackage

/// An AF_UNIX stream socket address. Paths are limited by `sun_path` (107 bytes).
struct UnixSocketAddress {
    var storage = sockaddr_un()

    init(path: String) throws(ControlSocketError) {
        storage.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: storage.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else {
            throw ControlSocketError(operation: "use socket path", path: path, errno: .fileNameTooLong)
        }
        withUnsafeMutableBytes(of: &storage.sun_path) { $0.copyBytes(from: bytes) }
    }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafePointer(to: storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}

/// A control-socket failure with the step, the socket path and errno.
public struct ControlSocketError: Error, CustomStringConvertible {
    public let operation: String
    public let path: String
    public let errno: Errno
    public var hint: String? = nil

    public var description: String {
        "\(operation) \(path): \(errno)" + (hint.map { " (\($0))" } ?? "")
    }
}

func makeUnixStreamSocket(path: String) throws(ControlSocketError) -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw ControlSocketError(operation: "socket for", path: path, errno: Errno.last) }
    return fd
}
