import Glibc
import Testing
@testable import SpanTapRing

@Suite struct HandoffRingTests {
    @Test func rejectsBadGeometry() throws {
        #expect(throws: RingError.self) { try RingGeometry(slotCount: 3, slotSize: 2048) }
        #expect(throws: RingError.self) { try RingGeometry(slotCount: 1, slotSize: 2048) }
        #expect(throws: RingError.self) { try RingGeometry(slotCount: 8, slotSize: 100) }
        #expect(throws: RingError.self) { try RingGeometry(slotCount: 8, slotSize: 128, snapLength: 200) }
        #expect(try RingGeometry(slotCount: 8, maximumFrameLength: 1518).slotSize == 1600)
    }

    @Test func wrapsAroundManyTimesInOrder() throws {
        let ring = try HandoffRing.create(name: "test-wrap", geometry: RingGeometry(slotCount: 4, slotSize: 128))
        var producer = ring.makeProducer()
        var consumer = ring.makeConsumer()
        var received: [UInt8] = []
        for round in 0..<50 {
            for k in 0..<3 {
                let payload = [UInt8](repeating: UInt8(truncatingIfNeeded: round * 3 + k), count: 60)
                let result = payload.withUnsafeBytes { producer.tryEnqueue($0, rule: RingRule(ifindex: 2, outputID: UInt32(k))) }
                #expect(result == .enqueued)
            }
            let drained = try consumer.drain(limit: 16) { record in
                #expect(record.capturedLength == 60 && record.originalLength == 60)
                #expect(record.ifindex == 2)
                #expect(record.frame.allSatisfy { $0 == record.frame[0] })
                received.append(record.frame[0])
                return true
            }
            #expect(drained == 3)
        }
        #expect(received == (0..<150).map { UInt8(truncatingIfNeeded: $0) })
        #expect(ring.counters.mirroredPackets == 150)
        #expect(ring.counters.mirroredBytes == 150 * 60)
        #expect(ring.queued == 0)
    }

    @Test func fullRingDropsAreCountedExactly() throws {
        let ring = try HandoffRing.create(name: "test-full", geometry: RingGeometry(slotCount: 8, slotSize: 128))
        var producer = ring.makeProducer()
        var consumer = ring.makeConsumer()
        let frame = [UInt8](repeating: 0xAB, count: 64)
        let results = (0..<20).map { _ in frame.withUnsafeBytes { producer.tryEnqueue($0, rule: RingRule(ifindex: 1, outputID: 0)) } }
        #expect(results.filter { $0 == .enqueued }.count == 8)
        #expect(results.filter { $0 == .droppedQueueFull }.count == 12)
        #expect(ring.counters.mirrorDropsQueueFull == 12)
        #expect(ring.queued == 8)
        // Freeing two slots lets exactly two more in.
        let freed = try consumer.drain(limit: 2) { _ in true }
        #expect(freed == 2)
        let more = (0..<3).map { _ in frame.withUnsafeBytes { producer.tryEnqueue($0, rule: RingRule(ifindex: 1, outputID: 0)) } }
        #expect(more == [.enqueued, .enqueued, .droppedQueueFull])
        #expect(ring.counters.mirroredPackets == 10)
        #expect(ring.counters.mirrorDropsQueueFull == 13)
    }

    @Test func stagedFramesAppearTogetherOnPublishWithOneWakeup() throws {
        let ring = try HandoffRing.create(name: "test-stage", geometry: RingGeometry(slotCount: 8, slotSize: 128))
        var producer = ring.makeProducer()
        var consumer = ring.makeConsumer()
        let asleep = try consumer.prepareToSleep()
        #expect(asleep)
        let frame = [UInt8](repeating: 7, count: 64)
        let staged = (0..<10).map { _ in frame.withUnsafeBytes { producer.stage($0, rule: RingRule(ifindex: 1, outputID: 0)) } }
        #expect(staged.filter { $0 == .enqueued }.count == 8)
        #expect(ring.counters.mirrorDropsQueueFull == 2, "drops count at once")
        #expect(try consumer.pending() == 0, "nothing is visible before publish")
        var wakeups: UInt64 = 0
        #expect(read(ring.wakeup.rawValue, &wakeups, 8) == -1, "and nobody was woken")

        producer.publish()
        producer.publish() // nothing new: no second wake-up
        #expect(try consumer.pending() == 8)
        #expect(ring.counters.mirroredPackets == 8)
        #expect(read(ring.wakeup.rawValue, &wakeups, 8) == 8)
        #expect(wakeups == 1)
    }

    @Test func refusedRecordStaysForTheNextDrain() throws {
        let ring = try HandoffRing.create(name: "test-refuse", geometry: RingGeometry(slotCount: 8, slotSize: 128))
        var producer = ring.makeProducer()
        var consumer = ring.makeConsumer()
        for value in 1...3 as ClosedRange<UInt8> {
            _ = [value].withUnsafeBytes { producer.tryEnqueue($0, rule: RingRule(ifindex: 1, outputID: 0)) }
        }
        let first = try consumer.drain(limit: 8) { $0.frame[0] < 2 }
        #expect(first == 1)
        var rest: [UInt8] = []
        let second = try consumer.drain(limit: 8) { rest.append($0.frame[0]); return true }
        #expect(second == 2)
        #expect(rest == [2, 3])
    }

    @Test func truncatesToSnapLengthOrDropsOversize() throws {
        let frame = [UInt8](0..<200)
        let snapping = try HandoffRing.create(name: "test-snap", geometry: RingGeometry(slotCount: 4, slotSize: 128, snapLength: 64))
        var producer = snapping.makeProducer()
        var consumer = snapping.makeConsumer()
        #expect(frame.withUnsafeBytes { producer.tryEnqueue($0, rule: RingRule(ifindex: 1, outputID: 0)) } == .enqueued)
        var seen: [(captured: Int, original: Int, bytes: [UInt8])] = []
        _ = try consumer.drain(limit: 1) { seen.append(($0.capturedLength, $0.originalLength, Array($0.frame))); return true }
        #expect(seen.count == 1)
        #expect(seen.first?.captured == 64)
        #expect(seen.first?.original == 200)
        #expect(seen.first?.bytes == Array(frame.prefix(64)))
        #expect(snapping.counters.mirroredBytes == 64)

        let strict = try HandoffRing.create(name: "test-oversize", geometry: RingGeometry(slotCount: 4, slotSize: 128))
        var strictProducer = strict.makeProducer()
        #expect(frame.withUnsafeBytes { strictProducer.tryEnqueue($0, rule: RingRule(ifindex: 1, outputID: 0)) } == .droppedNoFrame)
        let fits = [UInt8](repeating: 1, count: strict.geometry.slotCapacity)
        #expect(fits.withUnsafeBytes { strictProducer.tryEnqueue($0, rule: RingRule(ifindex: 1, outputID: 0)) } == .enqueued)
        #expect(strict.counters.mirrorDropsNoFrame == 1)
        #expect(strict.counters.mirroredPackets == 1)

        // A per-call snap length truncates even on a ring without one.
        var strictConsumer = strict.makeConsumer()
        _ = try strictConsumer.drain(limit: 1) { _ in true }
        #expect(frame.withUnsafeBytes { strictProducer.tryEnqueue($0, rule: RingRule(ifindex: 1, outputID: 0, snapLength: 32)) } == .enqueued)
        var lengths: [(Int, Int)] = []
        _ = try strictConsumer.drain(limit: 1) { lengths.append(($0.capturedLength, $0.originalLength)); return true }
        #expect(lengths.map(\.0) == [32])
        #expect(lengths.map(\.1) == [200])
    }

    @Test func attachSeesTheSameRingAndRefusesGarbage() throws {
        let ring = try HandoffRing.create(name: "test-attach", geometry: RingGeometry(slotCount: 16, slotSize: 256, snapLength: 100))
        let attached = try HandoffRing.attach(memory: ring.memory.duplicate(), wakeup: ring.wakeup.duplicate())
        #expect(attached.geometry == ring.geometry)
        var producer = attached.makeProducer()
        var consumer = ring.makeConsumer()
        _ = [UInt8](repeating: 9, count: 80).withUnsafeBytes { producer.tryEnqueue($0, rule: RingRule(ifindex: 5, outputID: 1)) }
        let drained = try consumer.drain(limit: 4) { $0.ifindex == 5 && $0.frame.count == 80 }
        #expect(drained == 1)

        let notARing = try HandoffRing.create(name: "test-garbage", geometry: RingGeometry(slotCount: 2, slotSize: 64))
        notARing.base.storeBytes(of: 0, as: UInt64.self)
        #expect(throws: RingError.notARing("bad magic")) {
            try HandoffRing.attach(memory: notARing.memory.duplicate(), wakeup: notARing.wakeup.duplicate())
        }
    }
}
