import Atomics
import CSpanTapRing
import SpanTapSystem

/// One frame in the ring, valid only inside the `drain` callback that received it.
public struct RingRecord {
    public let capturedLength: Int
    public let originalLength: Int
    /// The interface the frame was received on or transmitted by (`direction` says which).
    public let ifindex: UInt32
    public let direction: MirrorDirection
    public let outputID: UInt32
    public let timestampNanoseconds: UInt64
    /// The captured bytes, pointing into the shared slot (no copy).
    public let frame: UnsafeRawBufferPointer

    /// The frame's outer VLAN id (802.1Q or 802.1ad tag), 0 if untagged: the unit a unit rule
    /// selects by, read the way producers read it (`spantap_frame_vlan`).
    @inline(__always)
    public var outerVLAN: UInt16 { spantap_frame_vlan(frame.baseAddress, UInt32(truncatingIfNeeded: frame.count)) }
}

/// The reading end of a `HandoffRing`, for exactly one thread or serial queue (the sink).
///
/// The producer may live in another, untrusted process, so nothing it writes is believed before it
/// is checked: `producer_index` must never move backwards and never run more than `slot_count`
/// ahead (else `RingViolation`, and nothing more is read), and a record whose lengths do not fit
/// its slot, or whose direction is neither, is skipped and counted in `badRecords`, never delivered. Geometry comes from the
/// creator's private copy, never from the shared header.
public struct RingConsumer: ~Copyable {
    let ring: HandoffRing
    let layout: RingLayout
    let slotSize: Int
    let slotMask: UInt64
    let slotCount: UInt64
    let slotCapacity: Int
    /// Private copy of consumer_index (the consumer is its only writer).
    var consumerIndex: UInt64
    /// Last producer_index seen and checked; refreshed when the private view runs empty.
    var cachedProducerIndex: UInt64
    /// Records skipped because their lengths did not fit the slot (`mirror_drops_bad_record`).
    public private(set) var badRecords: UInt64 = 0

    init(ring: HandoffRing) {
        self.ring = ring
        layout = ring.layout
        slotSize = ring.geometry.slotSize
        slotMask = UInt64(ring.geometry.slotCount - 1)
        slotCount = UInt64(ring.geometry.slotCount)
        slotCapacity = ring.geometry.slotCapacity
        // Nothing counts as published until the first checked look at producer_index.
        consumerIndex = layout.consumerIndex.load(ordering: .relaxed)
        cachedProducerIndex = consumerIndex
    }

    /// Load-acquires producer_index and checks it before any slot is read.
    @inline(__always)
    mutating func refreshProducerIndex() throws(RingViolation) {
        let published = layout.producerIndex.load(ordering: .acquiring) // (A)
        // Free-running counters: "backwards" is a negative distance from the last value seen.
        guard Int64(bitPattern: published &- cachedProducerIndex) >= 0 else {
            throw .producerIndexMovedBackwards(from: cachedProducerIndex, to: published)
        }
        guard published &- consumerIndex <= slotCount else {
            throw .producerIndexTooFarAhead(producer: published, consumer: consumerIndex, slotCount: Int(slotCount))
        }
        cachedProducerIndex = published
    }

    /// Hands up to `limit` records to `body`, oldest first. `body` returns false to stop *without*
    /// consuming that record (its output would block); it is offered again on the next drain.
    /// Consumed slots are released to the producer once, at the end, after `beforeRelease` has
    /// run (sends still reading the slots finish there). Returns how many were consumed, bad
    /// records included (they are skipped, not handed to `body`).
    public mutating func drain(limit: Int, _ body: (RingRecord) -> Bool,
                               beforeRelease: () -> Void = {}) throws(RingViolation) -> Int {
        let available = try published()
        var consumed = 0, bad = 0
        while consumed < min(available, limit) {
            guard let record = record(at: consumed) else {
                bad += 1
                consumed += 1
                continue
            }
            guard body(record) else { break }
            consumed += 1
        }
        beforeRelease()
        release(consumed, badRecords: bad)
        return consumed
    }

    /// Hands up to `limit` records to `body` without releasing them, oldest first: nil for a bad
    /// record (its lengths do not fit its slot). The slots stay the consumer's, so their bytes may
    /// be read until `release`, e.g. by writes in flight. Returns how many slots were handed over.
    public mutating func peek(limit: Int, _ body: (RingRecord?) -> Void) throws(RingViolation) -> Int {
        let count = min(try published(), limit)
        for offset in 0..<count { body(record(at: offset)) }
        return count
    }

    /// Gives the oldest `count` slots back to the producer; `bad` of them were bad records (nil
    /// from `peek`), counted now so a slot peeked twice is counted once.
    public mutating func release(_ count: Int, badRecords bad: Int) {
        badRecords &+= UInt64(bad)
        guard count > 0 else { return }
        consumerIndex &+= UInt64(count)
        layout.consumerIndex.store(consumerIndex, ordering: .releasing) // (B)
    }

    /// How many records are published past the consumer, refreshing the producer index (checked)
    /// only when the private view has run empty.
    @inline(__always)
    private mutating func published() throws(RingViolation) -> Int {
        if cachedProducerIndex == consumerIndex {
            try refreshProducerIndex()
        }
        return Int(truncatingIfNeeded: cachedProducerIndex &- consumerIndex)
    }

    /// The record `offset` slots past the consumer, or nil if its lengths or direction are bad.
    @inline(__always)
    private func record(at offset: Int) -> RingRecord? {
        let slot = layout.slots + Int(truncatingIfNeeded: (consumerIndex &+ UInt64(offset)) & slotMask) &* slotSize
        let header = slot.loadUnaligned(as: spantap_record.self)
        let captured = Int(header.captured_length)
        guard captured <= slotCapacity, header.captured_length <= header.original_length,
              let direction = MirrorDirection(rawValue: header.direction) else { return nil }
        return RingRecord(capturedLength: captured, originalLength: Int(header.original_length),
                          ifindex: header.ifindex, direction: direction, outputID: header.output_id,
                          timestampNanoseconds: header.timestamp_ns,
                          frame: UnsafeRawBufferPointer(start: slot + Int(SPANTAP_RECORD_SIZE), count: captured))
    }

    /// Records that are waiting, as of a fresh look at the producer index.
    public mutating func pending() throws(RingViolation) -> Int {
        try refreshProducerIndex()
        return Int(truncatingIfNeeded: cachedProducerIndex &- consumerIndex)
    }

    /// Asks to be woken through the eventfd. Returns true if the ring is still empty, so the caller
    /// may sleep; false if a frame slipped in meanwhile (the flag is withdrawn, keep draining).
    public mutating func prepareToSleep() throws(RingViolation) -> Bool {
        layout.needWakeup.store(1, ordering: .relaxed)
        atomicMemoryFence(ordering: .sequentiallyConsistent) // (C)
        guard try pending() == 0 else {
            layout.needWakeup.store(0, ordering: .relaxed)
            return false
        }
        return true
    }

    /// Clears the eventfd after a wake-up so the next sleep blocks again.
    public func acknowledgeWakeup() {
        // Only EBADF could fail here, and the ring owns the descriptor until it goes away.
        _ = try? ring.wakeup.clearEvent()
    }

    /// Counts records whose output was missing or down (`mirror_drops_no_binding`), in the shared
    /// header so an external producer sees them too. Only the consumer writes this field.
    public func countDropsNoBinding(_ count: Int) {
        guard count > 0 else { return }
        layout.dropsNoBinding.store(layout.dropsNoBinding.load(ordering: .relaxed) &+ UInt64(count), ordering: .relaxed)
    }
}
