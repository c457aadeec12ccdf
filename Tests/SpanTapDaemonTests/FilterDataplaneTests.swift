import Foundation
import SpanTapControl
import SpanTapTestSupport
import Testing

/// Filters through the real forwarder: spantapd's own AF_XDP binding runs the instance's program
/// before sampling, and tcpdump on the TAP sees exactly the frames the expression selects.
@Suite(.serialized, .enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct FilterDataplaneTests {
    init() { NamespaceLab.ensureBPFFS() }

    static func config(_ hosts: NamespaceLab, tap: String, rate: UInt32, filter: String) -> String {
        DaemonDataplaneTests.config(hosts, tap: tap, rate: rate)
            + "set forwarding-options port-mirroring instance span1 input filter \"\(filter)\"\n"
    }

    /// `count` frames of each kind from host A to B, interleaved: UDP to 5001, UDP to 5002, ICMP.
    static func mixedTraffic(_ hosts: NamespaceLab, count: Int) -> [[UInt8]] {
        let a = hosts.addressA.split(separator: ".").compactMap { UInt8($0) }
        let b = hosts.addressB.split(separator: ".").compactMap { UInt8($0) }
        return (0..<count).flatMap { i in
            [IPFrames.frame(source: a, destination: b, .udp(source: UInt16(40_000 + i), destination: 5001)),
             IPFrames.frame(source: a, destination: b, .udp(source: UInt16(40_000 + i), destination: 5002)),
             IPFrames.frame(source: a, destination: b, .icmp)]
        }
    }

    static func destinationPort(_ frame: [UInt8]) -> Int? {
        guard frame.count >= 38, frame[12] == 0x08, frame[13] == 0x00, frame[23] == 17 else { return nil }
        return Int(frame[36]) << 8 | Int(frame[37])
    }

    @Test func theTapSeesExactlyTheFramesTheExpressionSelectsAndAReloadSwitchesInPlace() throws {
        let hosts = try NamespaceLab()
        defer { hosts.teardown() }
        let tap = uniqueName("out")
        let lab = try DaemonLab(config: Self.config(hosts, tap: tap, rate: 1, filter: "udp dst port 5001"))
        lab.interfaces = [tap]
        defer { lab.cleanUp() }
        try lab.start()
        #expect(waitUntil { lab.log().contains("cross-connect started") }, "\(lab.log())")
        let sent = 200

        // rate 1: every 5001 frame, nothing else (no ARP, no ICMP, no 5002).
        var capture = try PcapCapture(namespace: nil, interface: tap, direction: "in")
        try hosts.sendFromA(Self.mixedTraffic(hosts, count: sent))
        #expect(waitUntil { (try? lab.status().instances.first?.deliveredPackets) == UInt64(sent) })
        var frames = try capture.stop()
        #expect(frames.count == sent && frames.allSatisfy { Self.destinationPort($0) == 5001 },
                "tcpdump on the TAP: \(frames.count) frames, ports \(Set(frames.map { Self.destinationPort($0) ?? -1 }))")
        var status = try lab.status()
        let first = try #require(status.instances.first)
        #expect(first.mirroredPackets == UInt64(sent) && first.filterRejected == UInt64(2 * sent), "\(first)")
        let binding = try #require(status.bindings.first { $0.interface == hosts.forwarderA })
        #expect(binding.filterRejected == UInt64(2 * sent) && binding.rxPackets == binding.txPackets && binding.txDrops == 0)

        // rate 10 as well: 1 in 10 of the matching frames (the count restarts with the changed rule).
        try lab.writeConfig(Self.config(hosts, tap: tap, rate: 10, filter: "udp dst port 5001"))
        #expect(try lab.send(.reload).ok)
        capture = try PcapCapture(namespace: nil, interface: tap, direction: "in")
        try hosts.sendFromA(Self.mixedTraffic(hosts, count: sent))
        #expect(waitUntil { (try? lab.status().instances.first?.deliveredPackets) == UInt64(sent + sent / 10) })
        frames = try capture.stop()
        #expect(frames.count == sent / 10 && frames.allSatisfy { Self.destinationPort($0) == 5001 }, "\(frames.count) frames")

        // Another expression, in place: the same binding (its counters continue), nothing forwarded lost.
        let before = try #require(try lab.status().bindings.first { $0.interface == hosts.forwarderA })
        let receivedBefore = try hosts.packetsReceivedByB()
        try lab.writeConfig(Self.config(hosts, tap: tap, rate: 1, filter: "udp dst port 5002"))
        let traffic = Self.mixedTraffic(hosts, count: sent)
        capture = try PcapCapture(namespace: nil, interface: tap, direction: "in")
        #expect(try lab.send(.reload).message == "instances changed: span1")
        try hosts.sendFromA(traffic)
        #expect(waitUntil { (try? lab.status().instances.first?.deliveredPackets) == UInt64(2 * sent + sent / 10) })
        frames = try capture.stop()
        #expect(frames.count == sent && frames.allSatisfy { Self.destinationPort($0) == 5002 }, "\(frames.count) frames")
        status = try lab.status()
        let after = try #require(status.bindings.first { $0.interface == hosts.forwarderA })
        #expect(after.rxPackets - before.rxPackets == UInt64(traffic.count), "the binding kept running and counting")
        #expect(after.txPackets - before.txPackets == UInt64(traffic.count) && after.txDrops == before.txDrops)
        #expect(try hosts.packetsReceivedByB() - receivedBefore >= UInt64(traffic.count), "host B got every forwarded frame")
        #expect(!lab.log().contains("cross-connect stopped"), "no restart: \(lab.log())")
    }

    /// The Junos form through the real forwarder, first match deciding: `quiet` accepts UDP 5001
    /// before `apps` (UDP 5000-5002, to instance a) can see it, `pings` sends ICMP to instance b.
    /// Instance a gets exactly the 5002 frames, b exactly the ICMP ones, and nothing else is mirrored.
    @Test func firstMatchingFirewallTermDecidesWhichInstanceGetsAFrame() throws {
        let hosts = try NamespaceLab()
        defer { hosts.teardown() }
        let tapA = uniqueName("fa"), tapB = uniqueName("fb"), filter = "set firewall family inet filter split term"
        let config = """
            set forwarding-options port-mirroring instance a output interface \(tapA)
            set forwarding-options port-mirroring instance b output interface \(tapB)
            \(filter) quiet from protocol udp
            \(filter) quiet from destination-port 5001
            \(filter) quiet then accept
            \(filter) apps from protocol udp
            \(filter) apps from destination-port 5000-5002
            \(filter) apps then port-mirror-instance a
            \(filter) pings from protocol icmp
            \(filter) pings then port-mirror-instance b
            set interfaces \(hosts.forwarderA) unit 0 family inet filter input split
            set dataplane xdp-mode generic
            set dataplane cross-connect wire0 interface \(hosts.forwarderA)
            set dataplane cross-connect wire0 interface \(hosts.forwarderB)

            """
        let lab = try DaemonLab(config: config)
        lab.interfaces = [tapA, tapB]
        defer { lab.cleanUp() }
        try lab.start()
        #expect(waitUntil { lab.log().contains("cross-connect started") }, "\(lab.log())")

        let sent = 150
        let captureA = try PcapCapture(namespace: nil, interface: tapA, direction: "in")
        let captureB = try PcapCapture(namespace: nil, interface: tapB, direction: "in")
        try hosts.sendFromA(Self.mixedTraffic(hosts, count: sent))
        #expect(waitUntil { (try? lab.status().instances.map(\.deliveredPackets).reduce(0, +)) == UInt64(2 * sent) },
                "\(String(describing: try? lab.status().instances))")
        let framesA = try captureA.stop(), framesB = try captureB.stop()
        #expect(framesA.count == sent && framesA.allSatisfy { Self.destinationPort($0) == 5002 },
                "instance a: \(framesA.count) frames, ports \(Set(framesA.map { Self.destinationPort($0) ?? -1 }))")
        #expect(framesB.count == sent && framesB.allSatisfy { $0.count > 23 && $0[12] == 0x08 && $0[13] == 0x00 && $0[23] == 1 },
                "instance b: \(framesB.count) frames")
        let binding = try #require(try lab.status().bindings.first { $0.interface == hosts.forwarderA })
        #expect(binding.rxPackets == binding.txPackets && binding.txDrops == 0, "\(binding)")
    }
}
