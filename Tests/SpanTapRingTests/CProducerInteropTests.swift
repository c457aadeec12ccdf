import Foundation
import Glibc
import SpanTapTestSupport
import Testing
@testable import SpanTapRing

/// The C header is the ABI: a producer compiled from it alone, in another process, must write
/// exactly the bytes the Swift producer writes, and the Swift consumer must read them.
@Suite struct CProducerInteropTests {
    static let header = packageRoot.appendingPathComponent("Sources/CSpanTapRing/include")

    static func buildCProducer() throws -> String {
        try compiledFixture("Tests/SpanTapRingTests/Fixtures/c_producer.c")
    }

    /// Feeds `count` frames to a new ring from Swift, exactly as the C fixture does: staged per
    /// frame, published every `batch` frames and at the end.
    static func swiftRing(count: UInt64, geometry: RingGeometry, snapLength: UInt32 = 0, batch: UInt64 = 1) throws -> HandoffRing {
        let ring = try HandoffRing.create(name: "interop-swift", geometry: geometry)
        var producer = ring.makeProducer()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 8)
        defer { buffer.deallocate() }
        for seq in 0..<count {
            let frame = UnsafeMutableRawBufferPointer(rebasing: buffer[..<TestFrames.length(seq)])
            TestFrames.fill(frame, seq: seq)
            // Odd frames were transmitted, even ones received: both directions cross the ABI.
            let rule = RingRule(ifindex: 7, direction: seq % 2 == 0 ? .received : .transmitted,
                                outputID: UInt32(seq % 3), snapLength: snapLength)
            _ = producer.stage(UnsafeRawBufferPointer(frame), rule: rule, timestampNanoseconds: seq * 1000)
            if (seq + 1) % batch == 0 { producer.publish() }
        }
        producer.publish()
        return ring
    }

    static func bytes(of ring: HandoffRing) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: ring.base, count: ring.geometry.mappingSize))
    }

    /// Snap 0: whole frames; snap 100: every frame longer than 100 B captured to 100 B. Batches
    /// of 1 (enqueue), 7 and 64 frames per publish (stage + publish).
    @Test(arguments: [(0, 1), (100, 1), (0, 7), (100, 64)])
    func cAndSwiftProducersWriteIdenticalBytes(snapLength: UInt32, batch: UInt64) throws {
        let producer = try Self.buildCProducer()
        let geometry = try RingGeometry(slotCount: 128, slotSize: 1600)
        let count: UInt64 = 300 // more than the slots: both must also count the same drops

        let fromSwift = try Self.swiftRing(count: count, geometry: geometry, snapLength: snapLength, batch: batch)
        let fromC = try HandoffRing.create(name: "interop-c", geometry: geometry)
        let status = try runWithDescriptors(producer, ["\(count)", "\(snapLength)", "\(batch)"],
                                            descriptors: [fromC.memory.rawValue, fromC.wakeup.rawValue])
        #expect(status == 0)

        #expect(fromC.counters == fromSwift.counters)
        #expect(fromC.counters.mirroredPackets == 128)
        #expect(fromC.counters.mirrorDropsQueueFull == 172)
        #expect(Self.bytes(of: fromC) == Self.bytes(of: fromSwift))
        if snapLength > 0 { #expect(fromC.counters.mirroredBytes <= 128 * UInt64(snapLength)) }
    }

    @Test func swiftConsumerDrainsACProducerAndIsWokenOnce() throws {
        let producer = try Self.buildCProducer()
        let ring = try HandoffRing.create(name: "interop-wake", geometry: RingGeometry(slotCount: 256, slotSize: 1600))
        var consumer = ring.makeConsumer()
        let asleep = try consumer.prepareToSleep()
        #expect(asleep)

        let status = try runWithDescriptors(producer, ["200"], descriptors: [ring.memory.rawValue, ring.wakeup.rawValue])
        #expect(status == 0)

        var wakeups: UInt64 = 0
        #expect(read(ring.wakeup.rawValue, &wakeups, 8) == 8)
        #expect(wakeups == 1, "200 frames after one sleep must cost the producer exactly one eventfd write")
        var sequence: [UInt64] = []
        _ = try consumer.drain(limit: 1000) { record in
            if let seq = TestFrames.isIntact(record.frame), record.outputID == UInt32(seq % 3),
               record.timestampNanoseconds == seq * 1000, record.ifindex == 7,
               record.direction == (seq % 2 == 0 ? .received : .transmitted) {
                sequence.append(seq)
            }
            return true
        }
        #expect(sequence == Array(0..<200))
    }

    @Test func headerCompilesStandaloneAsC11() throws {
        let probe = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("spantap-header-\(getpid()).c")
        try "#include \"spantap_ring.h\"\nint main(void) { return SPANTAP_RING_PROGRAMS_OFFSET + sizeof(struct spantap_program_table) != SPANTAP_RING_HEADER_SIZE; }\n"
            .write(to: probe, atomically: true, encoding: .utf8)
        defer { unlink(probe.path) }
        let binary = probe.deletingPathExtension().path
        defer { unlink(binary) }
        try compileC(probe, includeDirectories: [Self.header], output: URL(fileURLWithPath: binary))
        #expect(try runWithDescriptors(binary, [], descriptors: []) == 0)
    }
}
