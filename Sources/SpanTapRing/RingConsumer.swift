import Atomics
import CSpanTapRing
import Glibc

/// One frame in the ring, valid only inside the `drain` callback that received it.
public struct RingRecord {
    public let capturedLength: Int
    public let originalLength: Int
    public let ingressIfindex: UInt32
    public let outputID: UInt32
    public let timestampNanoseconds: UInt64
    /// The captured bytes, pointing into the shared slot (no copy).
    public let frame: UnsafeRawBufferPointer
}

/// The reading end of a `HandoffRing`, for exactly one thread or serial queue (the sink).
public struct RingConsumer: ~Copyable {
    let ring: HandoffRing
    let layout: RingLayout
    let slotSize: Int
    let slotMask: UInt64
    let slotCapacity: Int
    /// Private copy of consumer_index (the consumer is its only writer).
    var consumerIndex: UInt64
    /// Last producer_index seen; refreshed when the private view runs empty.
    var cachedProducerIndex: UInt64

    init(ring: HandoffRing) {
        self.ring = ring
        layout = ring.layout
        slotSize = ring.geometry.slotSize
        slotMask = UInt64(ring.geometry.slotCount - 1)
        slotCapacity = ring.geometry.slotCapacity
        consumerIndex = layout.consumerIndex.load(ordering: .relaxed)
        cachedProducerIndex = layout.producerIndex.load(ordering: .acquiring)
    }

    /// Hands up to `limit` records to `body`, oldest first. `body` returns false to stop *without*
    /// consuming that record (its output would block); it is offered again on the next drain.
    /// Consumed slots are released to the producer once, at the end. Returns how many were consumed.
    public mutating func drain(limit: Int, _ body: (RingRecord) -> Bool) -> Int {
        if cachedProducerIndex == consumerIndex {
            cachedProducerIndex = layout.producerIndex.load(ordering: .acquiring)
        }
        let available = Int(truncatingIfNeeded: cachedProducerIndex &- consumerIndex)
        var consumed = 0
        while consumed < min(available, limit) {
            let slot = layout.slots + Int(truncatingIfNeeded: (consumerIndex &+ UInt64(consumed)) & slotMask) &* slotSize
            let header = slot.loadUnaligned(as: spantap_record.self)
            // An external producer is not trusted: never read past the slot whatever it wrote.
            let captured = min(Int(header.captured_length), slotCapacity)
            let record = RingRecord(capturedLength: captured,
                                    originalLength: max(Int(header.original_length), captured),
                                    ingressIfindex: header.ingress_ifindex, outputID: header.output_id,
                                    timestampNanoseconds: header.timestamp_ns,
                                    frame: UnsafeRawBufferPointer(start: slot + Int(SPANTAP_RECORD_SIZE), count: captured))
            guard body(record) else { break }
            consumed += 1
        }
        if consumed > 0 {
            consumerIndex &+= UInt64(consumed)
            layout.consumerIndex.store(consumerIndex, ordering: .releasing)
        }
        return consumed
    }

    /// Records that are waiting, as of the last look at the producer index.
    public mutating func pending() -> Int {
        cachedProducerIndex = layout.producerIndex.load(ordering: .acquiring)
        return Int(truncatingIfNeeded: cachedProducerIndex &- consumerIndex)
    }

    /// Asks to be woken through the eventfd. Returns true if the ring is still empty, so the caller
    /// may sleep; false if a frame slipped in meanwhile (the flag is withdrawn, keep draining).
    public mutating func prepareToSleep() -> Bool {
        layout.needWakeup.store(1, ordering: .relaxed)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        guard pending() == 0 else {
            layout.needWakeup.store(0, ordering: .relaxed)
            return false
        }
        return true
    }

    /// Clears the eventfd after a wake-up so the next sleep blocks again.
    public func acknowledgeWakeup() {
        var counter: UInt64 = 0
        _ = read(ring.wakeup.rawValue, &counter, MemoryLayout<UInt64>.size)
    }

    /// Counts records whose output was missing or down (`mirror_drops_no_binding`), in the shared
    /// header so an external producer sees them too. Only the consumer writes this field.
    public func countDropsNoBinding(_ count: Int) {
        guard count > 0 else { return }
        layout.dropsNoBinding.store(layout.dropsNoBinding.load(ordering: .relaxed) &+ UInt64(count), ordering: .relaxed)
    }
}
