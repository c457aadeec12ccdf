import CSpanTapRing

/// Which way a frame crossed the interface a rule or record names (`enum spantap_direction`).
public enum MirrorDirection: UInt32, Sendable, Comparable, CustomStringConvertible {
    /// Received on the interface: ingress mirroring.
    case received = 0
    /// Transmitted by the interface: egress mirroring.
    case transmitted = 1

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    public var description: String { self == .received ? "received" : "transmitted" }
}

/// One mirror rule as a ring's rule table carries it (`struct spantap_rule`): frames crossing
/// `ifindex` in `direction` are sampled 1 in `rate` and staged with `outputID`, captured to
/// `snapLength` bytes (0: whole frames).
public struct RingRule: Equatable, Sendable {
    public var ifindex: UInt32
    public var direction: MirrorDirection
    public var outputID: UInt32
    /// 0 or 1: every frame; N: frames 0, N, 2N, ... of the producer's count for this rule.
    public var rate: UInt32
    public var snapLength: UInt32

    public init(ifindex: UInt32, direction: MirrorDirection = .received, outputID: UInt32, rate: UInt32 = 1,
                snapLength: UInt32 = 0) {
        self.ifindex = ifindex
        self.direction = direction
        self.outputID = outputID
        self.rate = rate
        self.snapLength = snapLength
    }

    /// What a rule is found by; the table is sorted by it.
    struct Key: Hashable, Comparable {
        let ifindex: UInt32
        let direction: MirrorDirection

        static func < (a: Key, b: Key) -> Bool { (a.ifindex, a.direction) < (b.ifindex, b.direction) }
    }

    var key: Key { Key(ifindex: ifindex, direction: direction) }

    init?(_ entry: spantap_rule) {
        guard let direction = MirrorDirection(rawValue: entry.direction) else { return nil }
        self.init(ifindex: entry.ifindex, direction: direction, outputID: entry.output_id, rate: entry.rate,
                  snapLength: entry.snap_length)
    }
}
