import Glibc
import SystemPackage

/// A getsockopt(2) level with its name, for levels Glibc's headers do not export to Swift.
public struct SocketLevel: RawRepresentable, Sendable, Equatable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// SOL_XDP (linux/socket.h): AF_XDP socket options such as XDP_STATISTICS.
    public static let xdp = SocketLevel(rawValue: 283)
}

extension FileDescriptor {
    /// Reads socket option `option` at `level` into `value` (a C struct of the option's type).
    /// An older kernel may fill only a prefix (XDP_STATISTICS grew over time): the rest keeps
    /// what `value` held, so start from a zeroed struct.
    public func readSocketOption<Value: BitwiseCopyable>(level: SocketLevel, option: Int32,
                                                         into value: inout Value) throws(Errno) {
        var length = socklen_t(MemoryLayout<Value>.size)
        let result = withUnsafeMutableBytes(of: &value) {
            getsockopt(rawValue, level.rawValue, option, $0.baseAddress, &length)
        }
        try Errno.check(result)
    }
}

extension FileDescriptor {
    /// The path MTU the kernel knows for a connected IP socket's remote (IP_MTU, IPV6_MTU): the
    /// largest IP packet, outer header included, it sends there without fragmenting.
    public func pathMTU(ipv6: Bool) throws(Errno) -> Int {
        var mtu: Int32 = 0
        try readSocketOption(level: SocketLevel(rawValue: ipv6 ? Int32(IPPROTO_IPV6) : Int32(IPPROTO_IP)),
                             option: ipv6 ? IPV6_MTU : IP_MTU, into: &mtu)
        return Int(mtu)
    }
}
