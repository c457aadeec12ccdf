import Foundation
import Glibc
import SpanTapControl
import SpanTapTestSupport
import Testing

/// One selection to several outputs: host A's port mirrored once (one ring slot per frame) to a
/// TAP, a VXLAN device and an ERSPAN session at the same time; the TAP deleted mid-run costs the
/// other two nothing, and an ERSPAN member that cannot keep up costs the TAP nothing.
@Suite(.serialized, .enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct FanOutTests {
    init() { NamespaceLab.ensureBPFFS() }

    @Test func theSameFramesReachATapAVXLANAndAnERSPANOutputAndADeletedTapCostsTheOthersNothing() throws {
        let remote = try RemoteLab()
        defer { remote.teardown() }
        let (hosts, collector) = (remote.hosts, remote.collector)
        let tap = uniqueName("fan"), vni = UInt32.random(in: 1000...16_000_000), session = Int.random(in: 1...1023)
        let instance = "set forwarding-options port-mirroring instance span1"
        let ends = "remote \(collector.collectorAddress)", local = "local \(collector.localAddress)"
        let config = ["\(instance) input ingress interface \(hosts.forwarderA)",
                      "\(instance) output interface \(tap)",
                      "\(instance) output interface stv\(vni) vxlan \(ends)", "\(instance) output interface stv\(vni) vxlan vni \(vni)",
                      "\(instance) output interface stv\(vni) vxlan \(local)",
                      "\(instance) output interface ers1 erspan \(ends)", "\(instance) output interface ers1 erspan session-id \(session)",
                      "\(instance) output interface ers1 erspan \(local)",
                      "set dataplane xdp-mode generic",
                      "set dataplane cross-connect wire0 interface \(hosts.forwarderA)",
                      "set dataplane cross-connect wire0 interface \(hosts.forwarderB)"].joined(separator: "\n") + "\n"
        let lab = try DaemonLab(config: config)
        lab.interfaces = [tap, "stv\(vni)"]
        defer { lab.cleanUp() }
        let decapsulated = try PcapCapture(namespace: collector.namespace, interface: collector.addVXLAN(vni: vni), direction: "in")
        try lab.start()

        let sent = try PcapCapture(namespace: hosts.namespaceA, interface: "eth0", direction: "out")
        let onTap = try PcapCapture(namespace: nil, interface: tap, direction: "in")
        let erspan = try PcapCapture(namespace: collector.namespace, interface: "eth0", direction: "in", filter: ["ip", "proto", "47"])
        try hosts.inA("ping", "-c", "50", "-i", "0.01", "-W", "2", hosts.addressB)
        let tapSaw = try onTap.stop()
        // Deleted behind spantapd's back in the middle of a stream: it comes back, and meanwhile
        // only its own copies are lost.
        let ping = try RemoteMirrorTests.startPings(hosts, count: 100)
        defer { ping.signal(SIGTERM) }
        usleep(300_000)
        try run("ip", "link", "del", tap)
        ping.waitUntilExit()
        let status = try RemoteMirrorTests.settled(lab)
        usleep(300_000)
        let forwarderSent = try sent.stop(), viaVXLAN = try decapsulated.stop(), viaERSPAN = try erspan.stop()

        #expect(forwarderSent.count == 150 && status.mirroredPackets == 150, "150 echo requests mirrored once each")
        #expect(tapSaw == Array(forwarderSent.prefix(50)), "the TAP got the first 50 as sent")
        #expect(viaVXLAN == forwarderSent, "the VXLAN collector got all 150, in order, through the TAP's deletion")
        #expect(viaERSPAN.map { ERSPANMirrorTests.inner($0, encapsulation: 4 + 4 + 8) } == forwarderSent, "so did the ERSPAN collector")
        let outputs = try #require(status.outputs)
        #expect(outputs.map(\.kind) == ["tap", "vxlan", "erspan"] && outputs.map(\.interface) == [tap, "stv\(vni)", "ers1"])
        #expect(outputs[1].deliveredPackets == 150 && outputs[2].deliveredPackets == 150)
        let tapDelivered = try #require(outputs[0].deliveredPackets)
        #expect(tapDelivered >= 50 && status.mirrorDropsNoBinding == 150 - tapDelivered,
                "the TAP's copies lost while it was gone are no_binding, nobody else's")
        #expect(ifindex(of: tap) != nil, "the TAP was re-created")
        #expect(lab.stop() == 0)
    }

    @Test func aMemberWhoseSendQueueIsFullDropsOnlyItsOwnCopies() throws {
        let remote = try RemoteLab()
        defer { remote.teardown() }
        let (hosts, collector) = (remote.hosts, remote.collector)
        // A 16 kbit/s queue in front of the collector: each packet it holds stays charged to
        // spantapd's GRE socket, so the socket's send buffer fills within the first few hundred.
        try run("tc", "qdisc", "add", "dev", collector.underlay, "root", "tbf", "rate", "16kbit", "burst", "1600", "limit", "10mb")
        let tap = uniqueName("fan")
        let instance = "set forwarding-options port-mirroring instance span1"
        let config = ["\(instance) input ingress interface \(hosts.forwarderA)",
                      "\(instance) output interface \(tap)",
                      "\(instance) output interface ers1 erspan remote \(collector.collectorAddress)",
                      "\(instance) output interface ers1 erspan local \(collector.localAddress)",
                      "\(instance) output interface ers1 erspan session-id 7",
                      "set dataplane xdp-mode generic",
                      "set dataplane cross-connect wire0 interface \(hosts.forwarderA)",
                      "set dataplane cross-connect wire0 interface \(hosts.forwarderB)"].joined(separator: "\n") + "\n"
        let lab = try DaemonLab(config: config)
        lab.interfaces = [tap]
        defer { lab.cleanUp() }
        try lab.start()

        let frame = EthernetFrames.ipv4(total: 100, seed: 3), sent = 3000
        let onTap = try PcapCapture(namespace: nil, interface: tap, direction: "in", filter: ["ether", "src", Self.source(frame)])
        try ERSPANMirrorTests.send(hosts, [frame], count: sent, interval: 100) // 10 kpps
        let everyCopyEnded = waitUntil {
            guard let outputs = try? lab.status().instances.first?.outputs, outputs.count == 2 else { return false }
            return outputs.allSatisfy { ($0.deliveredPackets ?? 0) + ($0.writeErrors ?? 0) == UInt64(sent) }
        }
        usleep(300_000)
        let tapSaw = try onTap.stop()
        let status = try #require(try lab.status().instances.first)
        let outputs = try #require(status.outputs)

        #expect(everyCopyEnded, "each member delivered or counted each of the \(sent) copies: \(outputs)")
        #expect(status.mirroredPackets == UInt64(sent) && status.mirrorDropsQueueFull == 0, "one ring slot per frame, none refused")
        #expect(tapSaw.count == sent && tapSaw.allSatisfy { $0 == frame }, "the TAP got every frame, byte for byte")
        #expect(outputs.map(\.kind) == ["tap", "erspan"] && outputs[0].deliveredPackets == UInt64(sent) && outputs[0].writeErrors == 0)
        let session = try #require(outputs[1].session)
        #expect(session.queueFull > 0 && outputs[1].writeErrors == session.queueFull,
                "the ERSPAN member's lost copies are its queue_full, and nothing else: \(session)")
        #expect((outputs[1].deliveredPackets ?? 0) < UInt64(sent) / 2, "the queue in front of the collector held most of them back")
        #expect(lab.stop() == 0)
    }

    /// The frame's source MAC, as a tcpdump `ether src` argument.
    private static func source(_ frame: [UInt8]) -> String {
        frame[6..<12].map { String(format: "%02x", $0) }.joined(separator: ":")
    }
}
