import CSpanTapRing

/// What happened to one clone offered to the ring. Drops are already counted in the ring header.
public enum EnqueueResult: UInt8, Sendable {
    case enqueued
    /// The consumer is behind and every slot is taken: `mirror_drops_queue_full`.
    case droppedQueueFull
    /// Longer than a slot and the ring does not truncate: `mirror_drops_no_frame`.
    case droppedNoFrame
}

/// The writing end of a `HandoffRing`, for exactly one thread (an AF_XDP binding's loop).
///
/// A thin typed wrapper: staging, publishing and the drop counts are the C header's
/// `spantap_producer_*` functions, the ones every external producer uses, so the producer side of
/// the ABI has one definition (`spantap_ring.h`) and spantapd's own bindings follow it. The C
/// functions are `static inline`: the Swift compiler inlines them like its own code.
///
/// The per-packet mirror path never blocks, allocates, locks or retains, and enters the kernel
/// only to wake a sleeping consumer (at most once per sleep). In the common case it writes only its
/// own slot and the producer line; the consumer index is re-read only when the cached copy says
/// the ring is full, as xsk rings do.
///
/// Like xsk rings, it can batch: `stage` fills slots privately, `publish` makes all staged frames
/// visible with one release store, one fence and one wake-up check. A forwarding loop stages per
/// frame and publishes once per RX batch; `tryEnqueue` is stage + publish for single frames.
///
/// Its rules come from the ring's rule table through the same C reader (`spantap_rules_refresh`),
/// once per batch: see `RingProducer+Rules.swift`.
public struct RingProducer: ~Copyable {
    /// Keeps the mapping alive; never touched on the hot path, so it costs no ARC traffic there.
    let ring: HandoffRing
    /// `struct spantap_producer`: the private indices and counter copies the C functions keep.
    @usableFromInline let producer: UnsafeMutablePointer<spantap_producer>
    /// The mapping's header, kept here so the per-batch rule check is one load away.
    @usableFromInline let header: UnsafeMutablePointer<spantap_ring_header>
    /// Private copy of the ring's rule table and the programs its rules reference (`struct
    /// spantap_rule_cache`), about 270 KiB, and its first rule.
    @usableFromInline let rules: UnsafeMutablePointer<spantap_rule_cache>
    @usableFromInline let firstRule: UnsafePointer<spantap_rule>

    init(ring: HandoffRing) {
        self.ring = ring
        producer = .allocate(capacity: 1)
        producer.initialize(to: spantap_producer())
        let checked = spantap_producer_init(producer, ring.base, UInt64(ring.geometry.mappingSize), ring.wakeup.rawValue)
        precondition(checked == 0, "a ring this process mapped is not a valid ring")
        header = producer.pointee.header
        rules = .allocate(capacity: 1)
        rules.initialize(to: spantap_rule_cache())
        firstRule = UnsafeRawPointer(rules).advanced(by: MemoryLayout<spantap_rule_cache>.offset(of: \.rules)!)
            .assumingMemoryBound(to: spantap_rule.self)
    }

    deinit {
        producer.deallocate()
        rules.deallocate()
    }

    /// Copies `frame` into the next slot and makes it visible to the consumer at once.
    @inlinable @inline(__always)
    public mutating func tryEnqueue(_ frame: UnsafeRawBufferPointer, rule: RingRule,
                                    timestampNanoseconds: UInt64 = 0) -> EnqueueResult {
        let result = stage(frame, rule: rule, timestampNanoseconds: timestampNanoseconds)
        publish()
        return result
    }

    /// Copies `frame` (a whole L2 frame) into the next slot under `rule` (its ifindex, direction
    /// and output id go into the record), not yet visible to the consumer (see `publish`). It is
    /// truncated to the rule's snap length if that is non-zero (a per-instance
    /// `maximum-packet-length`, which can change without a new ring), else to the ring's own snap
    /// length if it has one; otherwise a frame longer than a slot is dropped. A full ring drops
    /// it. Drops are counted at once. `timestampNanoseconds` is CLOCK_MONOTONIC.
    @inlinable @inline(__always)
    public mutating func stage(_ frame: UnsafeRawBufferPointer, rule: RingRule, timestampNanoseconds: UInt64 = 0) -> EnqueueResult {
        var entry = spantap_rule(ifindex: rule.ifindex, direction: UInt16(rule.direction.rawValue), filter: 0, output_id: rule.outputID,
                                 rate: rule.rate, snap_length: rule.snapLength, generation: 0, vlan_id: rule.vlanID,
                                 run_length: rule.runLength, max_packets_per_second: rule.maxPacketsPerSecond)
        return stage(frame, entry: &entry, timestampNanoseconds: timestampNanoseconds)
    }

    @inlinable @inline(__always)
    mutating func stage(_ frame: UnsafeRawBufferPointer, entry: UnsafePointer<spantap_rule>, timestampNanoseconds: UInt64) -> EnqueueResult {
        // An empty buffer may have no address; nothing is read from it then, any address will do.
        let bytes = frame.baseAddress ?? UnsafeRawPointer(entry)
        switch spantap_producer_stage_call(producer, entry, bytes, UInt32(truncatingIfNeeded: frame.count), timestampNanoseconds) {
        case SPANTAP_ENQUEUED: return .enqueued
        case SPANTAP_DROP_QUEUE_FULL: return .droppedQueueFull
        default: return .droppedNoFrame
        }
    }

    /// Makes every staged frame visible: one release store of the producer index (A), and, only if
    /// the consumer went to sleep, one eventfd write (C). Costs nothing when nothing was staged.
    @inlinable @inline(__always)
    public mutating func publish() {
        spantap_producer_publish(producer)
    }
}
