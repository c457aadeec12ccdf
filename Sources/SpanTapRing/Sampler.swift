/// A 1-in-N sampling rate in the forwarder's semantics: 0 or 1 mirrors every packet; N mirrors
/// packets 0, N, 2N, ... of one binding's count.
public struct SampleRate: Sendable, Equatable, CustomStringConvertible {
    public let rate: UInt32
    /// Packets skipped between two mirrored ones.
    @usableFromInline let skip: UInt32

    public init(_ rate: UInt32) {
        self.rate = rate
        skip = max(rate, 1) - 1
    }

    public static let everyPacket = SampleRate(1)

    public var description: String { rate <= 1 ? "every packet" : "1 in \(rate)" }
}

/// One binding's packet count for one rule. Each AF_XDP binding or external producer owns one, so
/// sampling never touches a shared atomic; the global effect is "about 1 in N", not an exact 1 in
/// N. A down-counter: a compare and a decrement per packet, no division, for any rate (the same
/// as `spantap_rules_sample` in the C header). Start a new one when the rule changes.
public struct Sampler: Sendable {
    /// Packets still to skip before the next mirrored one.
    @usableFromInline var countdown: UInt32 = 0

    public init() {}

    /// Counts one packet and says whether to mirror it.
    @inlinable @inline(__always)
    public mutating func shouldMirror(_ rate: SampleRate) -> Bool {
        guard countdown == 0 else {
            countdown &-= 1
            return false
        }
        countdown = rate.skip
        return true
    }
}
