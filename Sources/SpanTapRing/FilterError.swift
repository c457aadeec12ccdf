import CSpanTapRing

/// Why an expression cannot be a producer's filter: libpcap's own message for a bad expression, or
/// what spantap_filter.h's validator refused in the program libpcap made.
public struct FilterError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    init(verdict: spantap_filter_verdict, instruction: Int, count: Int) {
        switch verdict {
        case SPANTAP_FILTER_LINUX_EXTENSION:
            message = "the program uses a Linux-only ancillary load (instruction \(instruction)), which producers cannot run"
        case SPANTAP_FILTER_TOO_LONG:
            message = "the program has \(count) instructions; producers run at most \(SPANTAP_FILTER_MAX_INSNS)"
        default:
            message = "producers refuse the program at instruction \(instruction): " + String(cString: spantap_filter_verdict_text(verdict))
        }
    }

    public var description: String { message }
}
