import Foundation
import SpanTapFastPath
import SpanTapRing
import SpanTapTestSupport
import Testing

/// Bounded mirror load (Junos `max-packets-per-second`) through the reference forwarder.
@Suite(.serialized, .enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct MirrorLoadTests {
    init() { NamespaceLab.ensureBPFFS() }

    @Test func maxPacketsPerSecondBoundsClonesAndCountsTheRest() throws {
        let lab = try MirrorLab(mode: .generic, rate: 1)
        defer { lab.teardown() }
        lab.setRules([RingRule(ifindex: lab.ifindexA, outputID: 0, maxPacketsPerSecond: 1000)])
        try lab.start()
        // The sender's own first-to-last time: timing around the process would count its start
        // (0.3 s under CI load), when no frame flows and no token is spent.
        let seconds = try lab.sendFromA([EthernetFrames.ipv4(total: 100)], count: 40_000, intervalMicroseconds: 50) // ~20 kpps
        #expect(lab.settled(lab.hosts.forwarderA, received: 40_000))
        let counters = try #require(lab.ring(lab.hosts.forwarderA)?.counters)
        #expect(counters.mirroredPackets + counters.mirrorDropsRateLimited == 40_000, "every selected frame is mirrored or counted")
        // 1000 per second while frames flowed, plus the bucket's first tenth of a second.
        let expected = 1000 * seconds + 100
        #expect(abs(Double(counters.mirroredPackets) - expected) <= 0.05 * 1000 * seconds,
                "mirrored \(counters.mirroredPackets) in \(seconds) s, expected about \(Int(expected))")
    }
}
