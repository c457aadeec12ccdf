import Foundation
import Glibc
import Testing
import SpanTapRing

/// A producer thread and a sleeping consumer on one ring, millions of frames: order, content and
/// counters must all hold, and no wake-up may be lost.
@Suite struct StressTests {
    /// Word-wise pattern (cheap enough for millions of frames in a debug build).
    static func word(_ seq: UInt64, _ i: Int) -> UInt64 { seq &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(i) }
    static func length(_ seq: UInt64) -> Int { 64 + Int(seq % 9) * 8 }

    @Test func twoThreadsMillionsOfFrames() throws {
        let total: UInt64 = 2_000_000
        let ring = try HandoffRing.create(name: "stress", geometry: RingGeometry(slotCount: 512, slotSize: 192))
        let producerThread = Thread {
            var producer = ring.makeProducer()
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 192, alignment: 8)
            defer { buffer.deallocate() }
            for seq in 0..<total {
                let words = Self.length(seq) / 8
                for i in 0..<words { buffer.storeBytes(of: i == 0 ? seq : Self.word(seq, i), toByteOffset: i * 8, as: UInt64.self) }
                _ = producer.tryEnqueue(UnsafeRawBufferPointer(rebasing: buffer[..<(words * 8)]), rule: RingRule(ifindex: 1, outputID: 0))
            }
        }
        producerThread.start()

        var consumer = ring.makeConsumer()
        var received: UInt64 = 0, corrupt = 0, outOfOrder = 0, lostWakeups = 0, sleeps = 0
        var last: UInt64? = nil
        while true {
            let counters = ring.counters
            if counters.mirroredPackets + counters.mirrorDropsQueueFull == total && received == counters.mirroredPackets { break }
            let drained = try consumer.drain(limit: 64) { record in
                let seq = record.frame.loadUnaligned(as: UInt64.self)
                let words = record.frame.count / 8
                if record.frame.count != Self.length(seq) || (1..<words).contains(where: {
                    record.frame.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self) != Self.word(seq, $0)
                }) { corrupt += 1 }
                if let last, seq <= last { outOfOrder += 1 }
                last = seq
                return true
            }
            received += UInt64(drained)
            guard drained == 0, try consumer.prepareToSleep() else { continue }
            sleeps += 1
            var pfd = pollfd(fd: ring.wakeup.rawValue, events: Int16(POLLIN), revents: 0)
            if try poll(&pfd, 1, 1000) == 0 && consumer.pending() > 0 { lostWakeups += 1 }
            consumer.acknowledgeWakeup()
        }
        let counters = ring.counters
        #expect(corrupt == 0)
        #expect(outOfOrder == 0)
        #expect(lostWakeups == 0)
        #expect(received == counters.mirroredPackets)
        #expect(counters.mirroredPackets + counters.mirrorDropsQueueFull == total)
        #expect(received > 0)
        print("stress: \(total) offered, \(received) received, \(counters.mirrorDropsQueueFull) dropped full, \(sleeps) sleeps")
    }
}
