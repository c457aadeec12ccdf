import Logging
import SystemPackage

/// How the sink writes frames to outputs, chosen once when the sink starts.
public enum SinkWriteMethod: Sendable, Equatable, CustomStringConvertible {
    /// A drained batch is one io_uring submission of independent writes (not linked: see
    /// spantap_uring.h), reaped before any record goes back to the producer.
    case ioUring
    /// One write(2) per frame: io_uring turned off (`sink { io-uring off; }`) or unavailable.
    case write

    public var description: String {
        switch self {
        case .ioUring: "io_uring"
        case .write: "write(2)"
        }
    }
}

extension SinkWriteMethod {
    /// What an io_uring setup errno means here, for the one log line that says which method runs.
    static func unavailableReason(_ errno: Errno) -> String {
        switch errno {
        case .noFunction: "io_uring is not available (kernel too old, or blocked by seccomp)"
        case .notPermitted: "io_uring is not permitted (sysctl kernel.io_uring_disabled, or seccomp)"
        case .notSupported: "this kernel's io_uring has no IORING_OP_WRITE"
        default: "io_uring setup failed: \(errno)"
        }
    }
}
