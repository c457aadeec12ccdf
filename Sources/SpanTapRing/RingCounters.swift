/// A ring's counters, read without stopping its producer (relaxed loads of the shared header).
/// Names follow the forwarder's status fields.
public struct RingCounters: Sendable, Equatable {
    public var mirroredPackets: UInt64 = 0
    public var mirroredBytes: UInt64 = 0
    public var mirrorDropsQueueFull: UInt64 = 0
    public var mirrorDropsNoFrame: UInt64 = 0
    public var mirrorDropsNoBinding: UInt64 = 0
    /// Egress copies not made because the ingress copy went to the same output (mirror-once).
    public var mirrorOnceSuppressed: UInt64 = 0
    /// Clones over a rule's max-packets-per-second (`mirror_drops_rate_limited`).
    public var mirrorDropsRateLimited: UInt64 = 0
    /// Frames of a filtered rule its program rejected: never a clone, so not a drop.
    public var filterRejected: UInt64 = 0
    /// Rules the producer left out at its last refresh: their program was missing or invalid. A
    /// gauge (summed over rings it is the rules disabled anywhere).
    public var rulesDisabled: UInt64 = 0
    /// Records enqueued but not yet taken by the consumer.
    public var queued: UInt64 = 0

    public init() {}

    /// Adds `more`'s counts (`queued` included: a sum of rings' backlogs).
    public static func += (total: inout RingCounters, more: RingCounters) {
        total.mirroredPackets &+= more.mirroredPackets
        total.mirroredBytes &+= more.mirroredBytes
        total.mirrorDropsQueueFull &+= more.mirrorDropsQueueFull
        total.mirrorDropsNoFrame &+= more.mirrorDropsNoFrame
        total.mirrorDropsNoBinding &+= more.mirrorDropsNoBinding
        total.mirrorOnceSuppressed &+= more.mirrorOnceSuppressed
        total.mirrorDropsRateLimited &+= more.mirrorDropsRateLimited
        total.filterRejected &+= more.filterRejected
        total.rulesDisabled &+= more.rulesDisabled
        total.queued &+= more.queued
    }
}
