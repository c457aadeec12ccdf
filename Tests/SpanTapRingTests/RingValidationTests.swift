import CSpanTapRing
import Testing
@testable import SpanTapRing

/// The consumer believes nothing the producer wrote until it is checked (spantap_ring.h, "What the
/// consumer checks"). The hostile writes here go straight to the shared header, as another
/// process's would; Tests/Fixtures/hostile_producer.c does the same from C against spantapd.
@Suite struct RingValidationTests {
    static func ring(_ name: String) throws -> HandoffRing {
        try HandoffRing.create(name: name, geometry: RingGeometry(slotCount: 8, slotSize: 128))
    }

    static func enqueue(_ producer: inout RingProducer, count: Int) {
        let frame = [UInt8](repeating: 7, count: 60)
        for _ in 0..<count {
            _ = frame.withUnsafeBytes { producer.tryEnqueue($0, rule: RingRule(ifindex: 1, outputID: 0)) }
        }
    }

    @Test func producerIndexMovingBackwardsIsAViolation() throws {
        let ring = try Self.ring("test-backwards")
        var producer = ring.makeProducer()
        var consumer = ring.makeConsumer()
        Self.enqueue(&producer, count: 6)
        #expect(try consumer.drain(limit: 2) { _ in true } == 2)
        // Still above consumer_index (2), but below the 6 the consumer already saw.
        ring.layout.producerIndex.store(4, ordering: .releasing)
        #expect(try consumer.drain(limit: 8) { _ in true } == 4, "the 4 records seen before are still delivered")
        #expect(throws: RingViolation.producerIndexMovedBackwards(from: 6, to: 4)) { try consumer.drain(limit: 8) { _ in true } }
    }

    @Test func producerIndexBeyondOneRingAheadIsAViolation() throws {
        let ring = try Self.ring("test-ahead")
        var consumer = ring.makeConsumer()
        ring.layout.producerIndex.store(9, ordering: .releasing)
        var delivered = 0
        #expect(throws: RingViolation.producerIndexTooFarAhead(producer: 9, consumer: 0, slotCount: 8)) {
            try consumer.drain(limit: 64) { _ in delivered += 1; return true }
        }
        #expect(delivered == 0, "no slot is read once the index is broken")
        #expect(throws: RingViolation.self) { try consumer.prepareToSleep() }
        ring.layout.producerIndex.store(8, ordering: .releasing)
        #expect(try consumer.pending() == 8, "exactly one ring ahead is a full ring, not a violation")
    }

    @Test func recordsWhoseLengthsDoNotFitAreSkippedAndCounted() throws {
        let ring = try Self.ring("test-badlen")
        var producer = ring.makeProducer()
        var consumer = ring.makeConsumer()
        Self.enqueue(&producer, count: 3)
        let slotSize = ring.geometry.slotSize
        // Slot 0: longer than the slot. Slot 1: captured more than the original. Slot 2: good.
        ring.layout.slots.storeBytes(of: UInt32(slotSize), as: UInt32.self)
        ring.layout.slots.storeBytes(of: UInt32(61), toByteOffset: slotSize, as: UInt32.self)
        var lengths: [Int] = []
        #expect(try consumer.drain(limit: 8) { lengths.append($0.capturedLength); return true } == 3)
        #expect(lengths == [60])
        #expect(consumer.badRecords == 2)
    }
}
