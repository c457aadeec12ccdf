import Atomics
import CSpanTapRing
import Glibc

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
/// The per-packet mirror path never blocks, allocates, locks or retains, and enters the kernel
/// only to wake a sleeping consumer (at most once per sleep). In the common case it writes only its
/// own slot and the producer line; the consumer index is re-read only when the cached copy says
/// the ring is full, as xsk rings do.
///
/// Like xsk rings, it can batch: `stage` fills slots privately, `publish` makes all staged frames
/// visible with one release store, one fence and one wake-up check. A forwarding loop stages per
/// frame and publishes once per RX batch; `tryEnqueue` is stage + publish for single frames.
///
/// Its rules come from the ring's rule table through the same C reader an external producer uses
/// (`spantap_rules_refresh`), once per batch: see `RingProducer+Rules.swift`.
public struct RingProducer: ~Copyable {
    /// Keeps the mapping alive; never touched on the hot path, so it costs no ARC traffic there.
    let ring: HandoffRing
    @usableFromInline let layout: RingLayout
    @usableFromInline let slotSize: Int
    @usableFromInline let slotCount: UInt64
    @usableFromInline let captureLimit: Int
    @usableFromInline let truncates: Bool
    @usableFromInline let wakeupFD: Int32
    /// Private copies of producer-owned shared fields: the producer is their only writer, so it
    /// never needs to read them back from the shared line.
    @usableFromInline var producerIndex: UInt64
    /// The producer index the consumer can see; `producerIndex` is ahead of it while frames are staged.
    @usableFromInline var publishedIndex: UInt64
    @usableFromInline var cachedConsumerIndex: UInt64
    @usableFromInline var mirroredPackets: UInt64
    @usableFromInline var mirroredBytes: UInt64
    @usableFromInline var dropsQueueFull: UInt64
    @usableFromInline var dropsNoFrame: UInt64
    @usableFromInline var mirrorOnceSuppressed: UInt64
    @usableFromInline var dropsRateLimited: UInt64
    /// Private copy of the ring's rule table (`struct spantap_rule_cache`), about 14 KiB, and its
    /// first rule.
    @usableFromInline let rules: UnsafeMutablePointer<spantap_rule_cache>
    @usableFromInline let firstRule: UnsafePointer<spantap_rule>

    init(ring: HandoffRing) {
        let layout = ring.layout
        self.ring = ring
        self.layout = layout
        slotSize = ring.geometry.slotSize
        slotCount = UInt64(ring.geometry.slotCount)
        captureLimit = ring.geometry.captureLimit
        truncates = ring.geometry.snapLength > 0
        wakeupFD = ring.wakeup.rawValue
        producerIndex = layout.producerIndex.load(ordering: .relaxed)
        publishedIndex = producerIndex
        cachedConsumerIndex = layout.consumerIndex.load(ordering: .acquiring)
        mirroredPackets = layout.mirroredPackets.load(ordering: .relaxed)
        mirroredBytes = layout.mirroredBytes.load(ordering: .relaxed)
        dropsQueueFull = layout.dropsQueueFull.load(ordering: .relaxed)
        dropsNoFrame = layout.dropsNoFrame.load(ordering: .relaxed)
        mirrorOnceSuppressed = layout.mirrorOnceSuppressed.load(ordering: .relaxed)
        dropsRateLimited = layout.dropsRateLimited.load(ordering: .relaxed)
        rules = .allocate(capacity: 1)
        rules.initialize(to: spantap_rule_cache())
        firstRule = UnsafeRawPointer(rules).advanced(by: MemoryLayout<spantap_rule_cache>.offset(of: \.rules)!)
            .assumingMemoryBound(to: spantap_rule.self)
    }

    deinit {
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
        stage(frame, ifindex: rule.ifindex, direction: rule.direction.rawValue, outputID: rule.outputID,
              snapLength: Int(rule.snapLength), timestampNanoseconds: timestampNanoseconds)
    }

    @inlinable @inline(__always)
    mutating func stage(_ frame: UnsafeRawBufferPointer, ifindex: UInt32, direction: UInt32, outputID: UInt32,
                        snapLength: Int, timestampNanoseconds: UInt64) -> EnqueueResult {
        var captured = frame.count
        let limit = snapLength > 0 ? min(snapLength, captureLimit) : captureLimit
        if captured > limit {
            guard truncates || snapLength > 0 else {
                dropsNoFrame &+= 1
                layout.dropsNoFrame.store(dropsNoFrame, ordering: .relaxed)
                return .droppedNoFrame
            }
            captured = limit
        }
        if producerIndex &- cachedConsumerIndex >= slotCount {
            cachedConsumerIndex = layout.consumerIndex.load(ordering: .acquiring) // (B)
            if producerIndex &- cachedConsumerIndex >= slotCount {
                dropsQueueFull &+= 1
                layout.dropsQueueFull.store(dropsQueueFull, ordering: .relaxed)
                return .droppedQueueFull
            }
        }
        let slot = layout.slots + Int(truncatingIfNeeded: producerIndex & (slotCount &- 1)) &* slotSize
        slot.storeBytes(of: spantap_record(captured_length: UInt32(truncatingIfNeeded: captured),
                                           original_length: UInt32(truncatingIfNeeded: frame.count),
                                           ifindex: ifindex, output_id: outputID,
                                           timestamp_ns: timestampNanoseconds, direction: direction,
                                           reserved: 0),
                        as: spantap_record.self)
        if captured > 0 {
            (slot + Int(SPANTAP_RECORD_SIZE)).copyMemory(from: frame.baseAddress!, byteCount: captured)
        }
        producerIndex &+= 1
        mirroredPackets &+= 1
        mirroredBytes &+= UInt64(truncatingIfNeeded: captured)
        return .enqueued
    }

    /// Makes every staged frame visible: one release store of the producer index, and, only if
    /// the consumer went to sleep, one eventfd write. Costs nothing when nothing was staged.
    @inlinable @inline(__always)
    public mutating func publish() {
        guard producerIndex != publishedIndex else { return }
        publishedIndex = producerIndex
        layout.producerIndex.store(producerIndex, ordering: .releasing) // (A)
        layout.mirroredPackets.store(mirroredPackets, ordering: .relaxed)
        layout.mirroredBytes.store(mirroredBytes, ordering: .relaxed)
        // Pairs with the consumer's fence between setting need_wakeup and re-reading our index:
        // one of the two sides is guaranteed to see the other's store (spantap_ring.h).
        atomicMemoryFence(ordering: .sequentiallyConsistent) // (C)
        if layout.needWakeup.load(ordering: .relaxed) != 0 {
            wakeConsumer()
        }
    }

    /// Slow path, out of line: the consumer is asleep. The exchange makes one sleep cost one write.
    @usableFromInline @inline(never)
    func wakeConsumer() {
        guard layout.needWakeup.exchange(0, ordering: .relaxed) != 0 else { return }
        var one: UInt64 = 1
        // EAGAIN means the eventfd counter is already non-zero, so the consumer wakes anyway.
        _ = write(wakeupFD, &one, MemoryLayout<UInt64>.size)
    }
}
