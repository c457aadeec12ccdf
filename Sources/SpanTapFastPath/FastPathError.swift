import SpanTapSystem
import SystemPackage

/// Errors from setting up or tearing down the AF_XDP fast path. Every case names the interface so
/// an operator can act on the message alone.
public enum FastPathError: Error, CustomStringConvertible, Equatable {
    /// The interface does not exist (if_nametoindex failed).
    case noSuchInterface(String)
    /// An interface is named twice (in one cross-connect or in two); both names are given.
    case interfaceReused(interface: String, crossConnects: [String])
    /// Another program (not SpanTap's leftover xsk redirect program) is attached to the interface.
    case foreignXDPProgram(interface: String, programs: [String], mode: String)
    /// A libxdp / kernel call failed (libxdp's negative return values are turned into `Errno`).
    case system(operation: String, interface: String, errno: Errno)
    /// Every mode we were allowed to try failed; the reasons, in order.
    case noUsableMode(crossConnect: String, attempts: [String])
    /// `start()` was called twice, or on a stopped fast path.
    case alreadyStarted

    public var description: String {
        switch self {
        case .noSuchInterface(let name):
            return "interface \(name) does not exist"
        case .interfaceReused(let interface, let names):
            return "interface \(interface) is used more than once (in \(names.joined(separator: ", ")))"
        case .foreignXDPProgram(let interface, let programs, let mode):
            return "interface \(interface) already has an XDP program that is not SpanTap's "
                + "(\(programs.joined(separator: ", ")), \(mode) mode); detach it or pick another interface"
        case .system(let operation, let interface, let errno):
            return "\(operation) on \(interface) failed: \(errno) (\(errno.symbolicName))"
        case .noUsableMode(let name, let attempts):
            return "cross-connect \(name): no AF_XDP mode worked: \(attempts.joined(separator: "; "))"
        case .alreadyStarted:
            return "fast path already started"
        }
    }
}
