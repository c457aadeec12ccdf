import Foundation
import SpanTapFastPath
import SpanTapRing
import SpanTapTestSupport
import Testing

/// Junos packet selection through the reference forwarder, with exact counts: run-length, egress
/// (frames transmitted by an interface), mirror-once, and VLAN units. The rules are what spantapd
/// writes into every binding's ring for the matching config (see DaemonAnalyzerTests for that).
@Suite(.serialized, .enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct JunosSelectionTests {
    init() { NamespaceLab.ensureBPFFS() }

    @Test func rateTenWithRunLengthTwoMirrorsThreeInTen() throws {
        let lab = try MirrorLab(mode: .generic, rate: 1)
        defer { lab.teardown() }
        lab.setRules([RingRule(ifindex: lab.ifindexA, outputID: 0, rate: 10, runLength: 2)])
        try lab.start()
        try lab.sendFromA([EthernetFrames.ipv4(total: 100)], count: 1000, intervalMicroseconds: 50)
        #expect(lab.settled(lab.hosts.forwarderA, received: 1000))
        #expect(lab.ring(lab.hosts.forwarderA)?.counters.mirroredPackets == 300)
    }

    @Test func egressOfBMirrorsExactlyTheFramesForwardedToB() throws {
        let lab = try MirrorLab(mode: .generic, rate: 1)
        defer { lab.teardown() }
        lab.setRules([RingRule(ifindex: lab.ifindexB, direction: .transmitted, outputID: 0)])
        try lab.start()
        let capture = try PacketCapture(ifindex: lab.tap.ifindex)
        let toB = EthernetFrames.ipv4(total: 120, seed: 1), toA = EthernetFrames.ipv4(total: 140, seed: 2)
        try lab.sendFromA([toB], count: 500, intervalMicroseconds: 50)
        try lab.sendFromB([toA], count: 300, intervalMicroseconds: 50)
        #expect(lab.settled(lab.hosts.forwarderA, received: 500) && lab.settled(lab.hosts.forwarderB, received: 300))
        let seen = capture.drain(quietMilliseconds: 500)
        #expect(seen.count == 500 && seen.allSatisfy { $0 == toB }, "\(seen.count) frames; only A->B ones, byte for byte")
        #expect(lab.ring(lab.hosts.forwarderA)?.counters.mirroredPackets == 500, "A's binding transmits on B")
        #expect(lab.ring(lab.hosts.forwarderB)?.counters.mirroredPackets == 0)
    }

    @Test(arguments: [false, true]) func ingressAndEgressOfOneFrameWithAndWithoutMirrorOnce(mirrorOnce: Bool) throws {
        let lab = try MirrorLab(mode: .generic, rate: 1)
        defer { lab.teardown() }
        lab.setRules([RingRule(ifindex: lab.ifindexA, outputID: 0), RingRule(ifindex: lab.ifindexB, direction: .transmitted, outputID: 0)],
                     mirrorOnce: mirrorOnce)
        try lab.start()
        try lab.sendFromA([EthernetFrames.ipv4(total: 100)], count: 1000, intervalMicroseconds: 50)
        #expect(lab.settled(lab.hosts.forwarderA, received: 1000))
        let counters = try #require(lab.ring(lab.hosts.forwarderA)?.counters)
        #expect(counters.mirroredPackets == (mirrorOnce ? 1000 : 2000))
        #expect(counters.mirrorOnceSuppressed == (mirrorOnce ? 1000 : 0))
    }

    @Test func aVLANUnitSelectsOnlyItsFramesAndKeepsTheirTag() throws {
        let lab = try MirrorLab(mode: .generic, rate: 1)
        defer { lab.teardown() }
        lab.setRules([RingRule(ifindex: lab.ifindexA, vlanID: 100, outputID: 0)])
        try lab.start()
        let capture = try PacketCapture(ifindex: lab.tap.ifindex)
        let unit100 = EthernetFrames.vlanTagged(vid: 100, total: 102, seed: 7), unit200 = EthernetFrames.vlanTagged(vid: 200, total: 102, seed: 8)
        try lab.sendFromA([unit100, unit200], count: 1000, intervalMicroseconds: 50)
        #expect(lab.settled(lab.hosts.forwarderA, received: 1000))
        let seen = capture.drain(quietMilliseconds: 500)
        #expect(seen.count == 500 && seen.allSatisfy { $0 == unit100 }, "\(seen.count) frames; only unit 100's, tag kept")
        #expect(lab.ring(lab.hosts.forwarderA)?.counters.mirroredPackets == 500)
    }
}
