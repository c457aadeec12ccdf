import Glibc
import SpanTapLink
import SpanTapRing
import SpanTapSink
import SpanTapTestSupport
import Testing

/// What the io_uring path must keep from write(2): a TAP deleted while records are being written
/// costs those records as no_binding (not write errors), and no write outlives `detach`.
@Suite(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct SinkWritePathTests {
    @Test(arguments: [true, false]) func outputDeletedMidBatchCountsNoBinding(ioUring: Bool) throws {
        let name = uniqueName("del")
        defer { removeLinkIfPresent(name) }
        let tap = try TapOutput.create(name: name, configuration: TapConfiguration(mtu: 1500), control: LinkControl())
        defer { try? tap.remove() }
        let ring = try HandoffRing.create(name: "sink-deleted", geometry: RingGeometry(slotCount: 4096, maximumFrameLength: 1518))
        let sink = SinkService(ioUring: ioUring)
        try #require(sink.writeMethod == (ioUring ? .ioUring : .write))
        let output = SinkOutput(id: 0, name: name, descriptor: tap.fd)
        sink.addOutput(output)
        sink.attach(ring)
        defer { sink.detach(ring); sink.removeOutput(id: 0) }

        // Bursts of a few hundred frames (several batches each) keep writes going while the
        // device is deleted under the sink's fd.
        var producer = ring.makeProducer()
        let frame = EthernetFrames.ipv4(total: 256)
        let start = monotonicSeconds()
        var deleted = false
        while monotonicSeconds() - start < 0.6 {
            for _ in 0..<600 { _ = frame.withUnsafeBytes { producer.tryEnqueue($0, rule: RingRule(ifindex: 4, outputID: 0)) } }
            if !deleted && monotonicSeconds() - start > 0.2 {
                try run("ip", "link", "del", name)
                deleted = true
            }
            usleep(500)
        }
        let counters = ring.counters
        #expect(waitUntil { ring.queued == 0 })
        #expect(waitUntil { output.counters.deliveredPackets + ring.counters.mirrorDropsNoBinding == counters.mirroredPackets })
        #expect(output.counters.deliveredPackets > 0)
        #expect(ring.counters.mirrorDropsNoBinding > 0)
        #expect(output.counters.writeErrors == 0, "writes to a deleted TAP are no_binding, not write errors")
    }

    /// A persistent TAP accepts one fd: re-attaching right after the sink let go fails with EBUSY
    /// if anything (a write still in flight in io_uring) holds the old one.
    @Test(arguments: [true, false]) func nothingIsInFlightAfterDetach(ioUring: Bool) throws {
        let name = uniqueName("flt")
        defer { removeLinkIfPresent(name) }
        let tap = try TapOutput.create(name: name, configuration: TapConfiguration(mtu: 1500, persistent: true), control: LinkControl())
        let ring = try HandoffRing.create(name: "sink-inflight", geometry: RingGeometry(slotCount: 4096, maximumFrameLength: 1518))
        var producer = ring.makeProducer()
        let frame = EthernetFrames.ipv4(total: 1000)
        for _ in 0..<4096 { _ = frame.withUnsafeBytes { producer.tryEnqueue($0, rule: RingRule(ifindex: 4, outputID: 0)) } }

        let sink = SinkService(ioUring: ioUring)
        try #require(sink.writeMethod == (ioUring ? .ioUring : .write))
        let output = SinkOutput(id: 0, name: name, descriptor: tap.fd)
        sink.addOutput(output)
        sink.attach(ring)
        #expect(sink.detach(ring) == nil)
        sink.removeOutput(id: 0)
        #expect(ring.queued == 0)
        #expect(output.counters.deliveredPackets + output.counters.writeErrors == 4096)
        try tap.remove()  // persistent: closes the fd, keeps the device

        let again = try TapDevice(name: name)
        try again.setPersistent(false)
        again.close()
    }
}
