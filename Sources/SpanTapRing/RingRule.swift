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
/// `ifindex` in `direction` (and, for a unit, tagged `vlanID`) that `filter` accepts are sampled
/// 1 in `rate`, each sample followed by `runLength` more, and staged with `outputID`, captured to
/// `snapLength` bytes (0: whole frames).
public struct RingRule: Equatable, Sendable {
    public var ifindex: UInt32
    public var direction: MirrorDirection
    /// 0: the whole port; 1...4094: only frames whose outer VLAN tag carries this id.
    public var vlanID: UInt16
    public var outputID: UInt32
    /// 0 or 1: every frame; N: frames 0, N, 2N, ... of the producer's count for this rule.
    public var rate: UInt32
    /// Frames mirrored after each sampled one (Junos `run-length`, 0...20).
    public var runLength: UInt16
    public var snapLength: UInt32
    /// 0: no limit; N: at most N clones per second under this rule from one producer.
    public var maxPacketsPerSecond: UInt32
    /// The program producers run on each frame before sampling it; nil: every frame. In the ring
    /// it is an entry of the program table, shared by every rule with an equal program.
    public var filter: FilterProgram?

    public init(ifindex: UInt32, direction: MirrorDirection = .received, vlanID: UInt16 = 0, outputID: UInt32,
                rate: UInt32 = 1, runLength: UInt16 = 0, snapLength: UInt32 = 0, maxPacketsPerSecond: UInt32 = 0,
                filter: FilterProgram? = nil) {
        self.ifindex = ifindex
        self.direction = direction
        self.vlanID = vlanID
        self.outputID = outputID
        self.rate = rate
        self.runLength = runLength
        self.snapLength = snapLength
        self.maxPacketsPerSecond = maxPacketsPerSecond
        self.filter = filter
    }

    /// What a rule is found by; the table is sorted by it (several rules share a key only when
    /// their filters are disjoint: spantap_ring.h's rule table).
    public struct Key: Hashable, Comparable, Sendable {
        public let ifindex: UInt32
        public let direction: MirrorDirection
        public let vlanID: UInt16

        public static func < (a: Key, b: Key) -> Bool {
            (a.ifindex, a.direction, a.vlanID) < (b.ifindex, b.direction, b.vlanID)
        }
    }

    public var key: Key { Key(ifindex: ifindex, direction: direction, vlanID: vlanID) }
}
