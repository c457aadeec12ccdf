import CLibNLRoute
import SpanTapSystem
import SystemPackage

/// A failed link operation: what was attempted, on which device, and why.
///
/// `errno` is always a real `Errno` so callers can branch on it (`.noSuchDevice`,
/// `.notPermitted`, ...) whether the failure came from a syscall, from the kernel through
/// rtnetlink, or from libnl's own `NLE_*` codes. `message` keeps the most specific text
/// available (libnl's `nl_geterror`, or our own explanation), which is often clearer than
/// `strerror` for the same errno.
public struct LinkError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What was attempted, e.g. "create TAP", "set MTU".
    public let operation: String
    /// The interface the operation was about; empty for operations on no particular link
    /// (opening a socket, dumping all links).
    public let device: String
    public let errno: Errno
    public let message: String

    public init(operation: String, device: String, errno: Errno, message: String? = nil) {
        self.operation = operation
        self.device = device
        self.errno = errno
        self.message = message ?? errno.description
    }

    /// Wraps a negative libnl return value (`-NLE_*`), keeping libnl's text.
    init(operation: String, device: String, netlinkCode: Int32) {
        self.init(
            operation: operation, device: device,
            errno: LinkError.errno(forNetlinkCode: netlinkCode),
            message: String(cString: nl_geterror(netlinkCode)))
    }

    /// Maps libnl's `NLE_*` codes (negative or positive) to the errno a caller would expect.
    ///
    /// libnl folds kernel errnos into its own smaller set (nl_syserr2nlerr), so this is lossy:
    /// anything without a clear counterpart becomes EIO, and `message` still says exactly what
    /// libnl reported.
    static func errno(forNetlinkCode code: Int32) -> Errno {
        switch abs(code) {
        case NLE_PERM: .notPermitted
        case NLE_NODEV, NLE_OBJ_NOTFOUND: .operationNotSupportedByDevice  // swift-system's name for ENODEV
        case NLE_EXIST: .fileExists
        case NLE_INVAL: .invalidArgument
        case NLE_BUSY: .resourceBusy
        case NLE_NOMEM: .noMemory
        case NLE_RANGE: .outOfRange
        case NLE_OPNOTSUPP: .notSupportedOnSocket
        case NLE_NOACCESS: .permissionDenied
        case NLE_AGAIN: .resourceTemporarilyUnavailable
        case NLE_AF_NOSUPPORT: .addressFamilyNotSupported
        default: .ioError
        }
    }

    public var description: String {
        "\(operation)\(device.isEmpty ? "" : " on \(device)"): \(message) (\(errno.symbolicName))"
    }
}
