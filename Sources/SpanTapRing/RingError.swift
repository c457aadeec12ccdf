import SystemPackage

/// Why a ring could not be created or attached.
public enum RingError: Error, Equatable, CustomStringConvertible {
    /// The requested slot count / slot size / snap length cannot form a ring.
    case invalidGeometry(String)
    /// A memfd handed to `attach` does not hold a SpanTap ring of this build's version
    /// (`SPANTAP_RING_VERSION`).
    case notARing(String)
    /// A syscall failed; `operation` says which step.
    case system(operation: String, errno: Errno)

    public var description: String {
        switch self {
        case .invalidGeometry(let why): "invalid ring geometry: \(why)"
        case .notARing(let why): "not a SpanTap handoff ring: \(why)"
        case .system(let operation, let errno): "\(operation): \(errno)"
        }
    }
}
