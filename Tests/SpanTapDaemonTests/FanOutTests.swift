import Foundation
import Glibc
import SpanTapControl
import SpanTapTestSupport
import Testing

/// One selection to several outputs: host A's port mirrored once (one ring slot per frame) to a
/// TAP, a VXLAN device and an ERSPAN session at the same time; the TAP deleted mid-run costs the
/// other two nothing.
@Suite(.serialized, .enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct FanOutTests {
    init() { NamespaceLab.ensureBPFFS() }

    @Test func theSameFramesReachATapAVXLANAndAnERSPANOutputAndADeletedTapCostsTheOthersNothing() throws {
        let hosts = try NamespaceLab()
        defer { hosts.teardown() }
        try RemoteMirrorTests.pinNeighbours(hosts)
        let collector = try CollectorLab()
        defer { collector.teardown() }
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
}
