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

    /// Feeds `count` frames to a new ring from Swift, exactly as the C fixture does.
    static func swiftRing(count: UInt64, geometry: RingGeometry, snapLength: Int = 0) throws -> HandoffRing {
        let ring = try HandoffRing.create(name: "interop-swift", geometry: geometry)
        var producer = ring.makeProducer()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 8)
        defer { buffer.deallocate() }
        for seq in 0..<count {
            let frame = UnsafeMutableRawBufferPointer(rebasing: buffer[..<TestFrames.length(seq)])
            TestFrames.fill(frame, seq: seq)
            _ = producer.tryEnqueue(UnsafeRawBufferPointer(frame), ingressIfindex: 7, outputID: UInt32(seq % 3),
                                    timestampNanoseconds: seq * 1000, snapLength: snapLength)
        }
        return ring
    }

    static func bytes(of ring: HandoffRing) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: ring.base, count: ring.geometry.mappingSize))
    }

    /// Snap 0: whole frames; snap 100: every frame longer than 100 B captured to 100 B.
    @Test(arguments: [0, 100]) func cAndSwiftProducersWriteIdenticalBytes(snapLength: Int) throws {
        let producer = try Self.buildCProducer()
        let geometry = try RingGeometry(slotCount: 128, slotSize: 1600)
        let count: UInt64 = 300 // more than the slots: both must also count the same drops

        let fromSwift = try Self.swiftRing(count: count, geometry: geometry, snapLength: snapLength)
        let fromC = try HandoffRing.create(name: "interop-c", geometry: geometry)
        let status = try runWithDescriptors(producer, ["\(count)", "\(snapLength)"],
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
               record.timestampNanoseconds == seq * 1000, record.ingressIfindex == 7 {
                sequence.append(seq)
            }
            return true
        }
        #expect(sequence == Array(0..<200))
    }

    @Test func headerCompilesStandaloneAsC11() throws {
        let probe = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("spantap-header-\(getpid()).c")
        try "#include \"spantap_ring.h\"\nint main(void) { return sizeof(struct spantap_ring_header) != SPANTAP_RING_HEADER_SIZE; }\n"
            .write(to: probe, atomically: true, encoding: .utf8)
        defer { unlink(probe.path) }
        let binary = probe.deletingPathExtension().path
        defer { unlink(binary) }
        try compileC(probe, includeDirectories: [Self.header], output: URL(fileURLWithPath: binary))
        #expect(try runWithDescriptors(binary, [], descriptors: []) == 0)
    }
}
