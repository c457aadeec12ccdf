/// A 1-in-N sampling rate in the forwarder's semantics: 0 or 1 mirrors every packet; N mirrors
/// packets 0, N, 2N, ... of one binding's count. Precomputed so the per-packet test is a mask for
/// powers of two and a single modulo otherwise.
public struct SampleRate: Sendable, Equatable, CustomStringConvertible {
    public let rate: UInt32
    @usableFromInline let mask: UInt64
    @usableFromInline let modulus: UInt64

    public init(_ rate: UInt32) {
        self.rate = rate
        let n = UInt64(max(rate, 1))
        if n & (n - 1) == 0 {
            mask = n - 1
            modulus = 0
        } else {
            mask = 0
            modulus = n
        }
    }

    public static let everyPacket = SampleRate(1)

    public var description: String { rate <= 1 ? "every packet" : "1 in \(rate)" }
}

/// One binding's packet counter. Each AF_XDP binding or external producer owns one, so sampling
/// never touches a shared atomic; the global effect is "about 1 in N", not an exact 1 in N.
public struct Sampler: Sendable {
    @usableFromInline var seen: UInt64 = 0

    public init() {}

    /// Counts one packet and says whether to mirror it.
    @inlinable @inline(__always)
    public mutating func shouldMirror(_ rate: SampleRate) -> Bool {
        let position = seen
        seen &+= 1
        return rate.modulus == 0 ? position & rate.mask == 0 : position % rate.modulus == 0
    }
}
