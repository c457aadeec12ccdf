import Glibc
import SpanTapRing
import SpanTapSink
import SpanTapTestSupport
import SystemPackage
import Testing

/// The sink against an output that really blocks: an AF_UNIX datagram socketpair whose reader
/// stops reading, so the kernel answers EAGAIN once the writer's small send buffer is full. The sink must pause without spinning, the ring must absorb and then drop (counted), and
/// everything must flow again, in order, when the reader resumes. With io_uring writes and with write(2).
@Suite struct SinkBackPressureTests {
    @Test(arguments: [true, false]) func blockedOutputPausesTheRingWithoutSpinningThenResumes(ioUring: Bool) throws {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds) == 0)
        let writer = FileDescriptor(rawValue: fds[0]), reader = FileDescriptor(rawValue: fds[1])
        defer { try? writer.close(); try? reader.close() }
        // A socketpair's writer blocks when its own send buffer is full: make that a few frames,
        // whatever net.core.wmem_default this machine has.
        var small: Int32 = 4096
        #expect(setsockopt(writer.rawValue, SOL_SOCKET, SO_SNDBUF, &small, socklen_t(MemoryLayout<Int32>.size)) == 0)

        let ring = try HandoffRing.create(name: "sink-pressure", geometry: RingGeometry(slotCount: 64, slotSize: 256))
        let sink = SinkService(ioUring: ioUring)
        try #require(sink.writeMethod == (ioUring ? .ioUring : .write), "io_uring must be usable on the test machine")
        let output = SinkOutput(id: 0, name: "socketpair", descriptor: writer)
        sink.addOutput(output)
        sink.attach(ring)
        defer { sink.detach(ring) }

        var producer = ring.makeProducer()
        let offered = 500
        for seq in 0..<offered {
            var frame = EthernetFrames.ipv4(total: 100)
            frame[14] = UInt8(seq >> 8)
            frame[15] = UInt8(seq & 0xff)
            _ = frame.withUnsafeBytes { producer.tryEnqueue($0, rule: RingRule(ifindex: UInt32(seq), outputID: 0)) }
            if seq % 50 == 0 { usleep(2000) } // let the sink run into the blocked output mid-stream
        }
        // Blocked: the ring is full, the rest were dropped and counted, and the sink sleeps.
        #expect(waitUntil { ring.queued == 64 })
        let counters = ring.counters
        #expect(counters.mirroredPackets + counters.mirrorDropsQueueFull == UInt64(offered))
        #expect(counters.mirrorDropsQueueFull > 0)
        let passesBefore = sink.drainPasses
        usleep(300_000)
        #expect(sink.drainPasses == passesBefore, "a paused sink must sleep, not spin")

        // Reader resumes: every mirrored frame arrives, in order, unmodified.
        var received: [UInt32] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        _ = waitUntil {
            while true {
                let n = read(reader.rawValue, &buffer, buffer.count)
                guard n > 0 else { break }
                received.append(UInt32(buffer[14]) << 8 | UInt32(buffer[15]))
                #expect(n == 100)
            }
            return UInt64(received.count) == counters.mirroredPackets
        }
        #expect(UInt64(received.count) == counters.mirroredPackets)
        #expect(received == received.sorted() && Set(received).count == received.count, "frames must arrive in order, once")
        #expect(received.first == 0)
        #expect(waitUntil { output.counters.deliveredPackets == counters.mirroredPackets })
        #expect(output.counters.deliveredBytes == counters.mirroredPackets * 100)
        #expect(output.counters.writeErrors == 0)
        #expect(ring.queued == 0)
    }

    @Test(arguments: [true, false]) func recordsForMissingOutputsAreCountedNoBinding(ioUring: Bool) throws {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds) == 0)
        let writer = FileDescriptor(rawValue: fds[0]), reader = FileDescriptor(rawValue: fds[1])
        defer { try? writer.close(); try? reader.close() }

        let ring = try HandoffRing.create(name: "sink-nobinding", geometry: RingGeometry(slotCount: 64, slotSize: 256))
        let sink = SinkService(ioUring: ioUring)
        let output = SinkOutput(id: 1, name: "socketpair", descriptor: writer)
        sink.addOutput(output)
        sink.attach(ring)
        defer { sink.detach(ring) }

        var producer = ring.makeProducer()
        let frame = EthernetFrames.ipv6(total: 80)
        for outputID: UInt32 in [1, 0, 7, 1] {
            _ = frame.withUnsafeBytes { producer.tryEnqueue($0, rule: RingRule(ifindex: 3, outputID: outputID)) }
        }
        #expect(waitUntil { ring.queued == 0 && ring.counters.mirrorDropsNoBinding == 2 })
        #expect(output.counters.deliveredPackets == 2)

        sink.removeOutput(id: 1)
        _ = frame.withUnsafeBytes { producer.tryEnqueue($0, rule: RingRule(ifindex: 3, outputID: 1)) }
        #expect(waitUntil { ring.counters.mirrorDropsNoBinding == 3 })
        #expect(output.counters.deliveredPackets == 2)
    }
}
