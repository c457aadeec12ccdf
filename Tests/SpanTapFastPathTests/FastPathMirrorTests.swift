import Foundation
import SpanTapFastPath
import SpanTapRing
import SpanTapTestSupport
import Testing

/// Forward first, then mirror: real AF_XDP bindings mirroring host A's frames into rings, a real
/// sink writing them to a real TAP, and an AF_PACKET capture on the TAP (what tcpdump reads).
@Suite(.serialized, .enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct FastPathMirrorTests {
    init() { NamespaceLab.ensureBPFFS() }

    static let frames: [[UInt8]] = [
        EthernetFrames.ipv4(total: 60, seed: 1),
        EthernetFrames.ipv4(total: 1514, seed: 2),
        EthernetFrames.ipv6(total: 118, seed: 3),
        EthernetFrames.vlanTagged(vid: 42, total: 98, seed: 4),
        EthernetFrames.vlanTagged(vid: 4000, priority: 5, total: 1518, seed: 5),
    ]

    @Test("mirrored frames reach the TAP byte for byte", arguments: [XDPMode.generic, .native])
    func mirrorsByteForByte(mode: XDPMode) throws {
        let lab = try MirrorLab(mode: mode, rate: 1)
        defer { lab.teardown() }
        try lab.start()
        let capture = try PacketCapture(ifindex: lab.tap.ifindex)
        try lab.sendFromA(Self.frames, count: Self.frames.count, intervalMicroseconds: 2000)
        let seen = capture.drain(quietMilliseconds: 500)
        #expect(seen == Self.frames, "TAP saw \(seen.map(\.count)) bytes, host A sent \(Self.frames.map(\.count))")

        let reports = lab.fastPath.stop()
        let ingress = try #require(reports.first?.bindings.first { $0.interface == lab.hosts.forwarderA })
        #expect(ingress.values.rxPackets == UInt64(Self.frames.count))
        #expect(ingress.values.txPackets == ingress.values.rxPackets, "every mirrored frame was also forwarded")
        let ring = try #require(lab.ring(lab.hosts.forwarderA))
        #expect(ring.counters.mirroredPackets == UInt64(Self.frames.count))
        #expect(lab.ring(lab.hosts.forwarderB)?.counters.mirroredPackets == 0, "B's ingress is not mirrored")
    }

    @Test func rateFourMirrorsExactlyOneInFourOfABindingsPackets() throws {
        let lab = try MirrorLab(mode: .generic, rate: 4)
        defer { lab.teardown() }
        try lab.start()
        try lab.sendFromA([EthernetFrames.ipv4(total: 200)], count: 400, intervalMicroseconds: 100)
        let ring = try #require(lab.ring(lab.hosts.forwarderA))
        #expect(waitUntil { ring.queued == 0 && lab.fastPath.counters().first { $0.interface == lab.hosts.forwarderA }?.values.rxPackets == 400 })
        let counters = ring.counters
        #expect(counters.mirroredPackets == 100)
        #expect(counters.mirrorDropsQueueFull + counters.mirrorDropsNoFrame == 0)

        // The rate changes in place: same bindings, same sampler count, rate 1 now.
        lab.setRules([RingRule(ifindex: if_nametoindex(lab.hosts.forwarderA), outputID: 0, rate: 1)])
        try lab.sendFromA([EthernetFrames.ipv4(total: 200)], count: 40, intervalMicroseconds: 100)
        #expect(waitUntil { ring.counters.mirroredPackets == 140 })
    }

    @Test func aStalledSinkNeverCostsAForwardedFrame() throws {
        let lab = try MirrorLab(mode: .generic, rate: 1, ringSlots: 64, drained: false)
        defer { lab.teardown() }
        try lab.start()
        let before = try lab.hosts.packetsReceivedByB()
        let burst = 2000
        try lab.sendFromA([EthernetFrames.ipv4(total: 512)], count: burst, intervalMicroseconds: 20)
        #expect(waitUntil { (try? lab.hosts.packetsReceivedByB()) == before + UInt64(burst) },
                "host B must receive every frame of the burst: got \((try? lab.hosts.packetsReceivedByB()).map { $0 - before } ?? 0), forwarder \(lab.fastPath.counters())")
        let ring = try #require(lab.ring(lab.hosts.forwarderA))
        let counters = ring.counters
        #expect(counters.mirroredPackets == 64, "the ring holds exactly its slots")
        #expect(counters.mirrorDropsQueueFull == UInt64(burst - 64))
        let ingress = try #require(lab.fastPath.counters().first { $0.interface == lab.hosts.forwarderA })
        #expect(ingress.values.rxPackets == UInt64(burst))
        #expect(ingress.values.txDrops == 0)
        // sampled (rate 1: every frame) = mirrored + mirror drops
        #expect(counters.mirroredPackets + counters.mirrorDropsQueueFull + counters.mirrorDropsNoFrame == ingress.values.rxPackets)
    }
}
