import Foundation
import Glibc
import SpanTapControl
import SpanTapTestSupport
import Testing

/// spantapd running its own AF_XDP cross-connect between two namespace hosts and mirroring one
/// side to a TAP: the whole pipeline as an operator runs it.
@Suite(.serialized, .enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct DaemonDataplaneTests {
    init() { NamespaceLab.ensureBPFFS() }

    static func config(_ hosts: NamespaceLab, tap: String, rate: UInt32) -> String {
        DaemonLab.config(rate: rate, ingress: [hosts.forwarderA], output: tap) + """
        set dataplane xdp-mode generic
        set dataplane cross-connect wire0 interface \(hosts.forwarderA)
        set dataplane cross-connect wire0 interface \(hosts.forwarderB)

        """
    }

    @Test func forwardsMirrorsReloadsAndDetachesOnSigterm() throws {
        let hosts = try NamespaceLab()
        defer { hosts.teardown() }
        let tap = uniqueName("out")
        let lab = try DaemonLab(config: Self.config(hosts, tap: tap, rate: 1))
        lab.interfaces = [tap]
        defer { lab.cleanUp() }
        try lab.start()
        #expect(try NamespaceLab.hasXDPProgram(hosts.forwarderA))
        let capture = try PacketCapture(ifindex: try #require(ifindex(of: tap)))

        try hosts.inA("ping", "-c", "5", "-i", "0.2", "-W", "2", hosts.addressB)
        // Host A's side is mirrored: its echo requests reach the TAP (ICMP type 8 after a 20-byte IPv4 header).
        let requests = capture.drain().filter { $0.count > 34 && $0[12] == 0x08 && $0[13] == 0x00 && $0[23] == 1 && $0[34] == 8 }
        #expect(requests.count == 5)

        var status = try lab.status()
        let ingress = try #require(status.bindings.first { $0.interface == hosts.forwarderA })
        #expect(ingress.mode == "generic")
        #expect(ingress.rxPackets == ingress.txPackets + ingress.txDrops)
        #expect(ingress.mirroredPackets == ingress.rxPackets, "rate 1 mirrors every frame of the binding")
        // The kernel's own XDP_STATISTICS sit beside the forwarder's counts, under the kernel's names.
        #expect(ingress.kernel.rxRingFull == 0 && ingress.kernel.rxDropped == 0 && ingress.kernel.rxInvalidDescs == 0,
                "a few pings: the kernel dropped nothing before the RX ring: \(ingress.kernel)")
        let json = String(decoding: try ControlCodec.encodeLine(status), as: UTF8.self)
        for key in ["rx_dropped", "rx_invalid_descs", "tx_invalid_descs", "rx_ring_full", "rx_fill_ring_empty_descs", "tx_ring_empty_descs"] {
            #expect(json.contains("\"\(key)\":"), "status --json lists \(key)")
        }
        let instance = try #require(status.instances.first)
        #expect(instance.mirroredPackets == ingress.mirroredPackets)
        #expect(waitUntil { (try? lab.status().instances.first?.deliveredPackets) == instance.mirroredPackets })

        // A new rate applies in place: same TAP, same binding, counters continue.
        let tapIndex = ifindex(of: tap)
        try lab.writeConfig(Self.config(hosts, tap: tap, rate: 1000))
        #expect(try lab.send(.reload).message == "instances changed: span1")
        let before = try #require(try lab.status().bindings.first { $0.interface == hosts.forwarderA })
        try hosts.inA("ping", "-c", "3", "-i", "0.2", "-W", "2", hosts.addressB)
        status = try lab.status()
        let after = try #require(status.bindings.first { $0.interface == hosts.forwarderA })
        #expect(after.rxPackets > before.rxPackets)
        #expect(after.mirroredPackets - before.mirroredPackets <= 1, "1 in 1000 of a handful of frames")
        #expect(ifindex(of: tap) == tapIndex)

        #expect(lab.stop() == 0)
        #expect(try !NamespaceLab.hasXDPProgram(hosts.forwarderA), "SIGTERM detaches XDP")
        #expect(try !NamespaceLab.hasXDPProgram(hosts.forwarderB))
    }

    @Test func interfacesThatAppearLateAreForwardedAndTheirCountersSurviveRemoval() throws {
        let hosts = try NamespaceLab(build: false)
        defer { hosts.teardown() }
        let tap = uniqueName("out")
        let lab = try DaemonLab(config: Self.config(hosts, tap: tap, rate: 1))
        lab.interfaces = [tap]
        defer { lab.cleanUp() }
        try lab.start()
        #expect(lab.log().contains("cross-connect parked until its interfaces exist"))
        #expect(try lab.status().bindings.isEmpty)

        try hosts.build()
        #expect(waitUntil { lab.log().contains("cross-connect started") })
        try hosts.inA("ping", "-c", "3", "-i", "0.2", "-W", "2", hosts.addressB)
        let forwarded = try #require(try lab.status().bindings.first { $0.interface == hosts.forwarderA })
        #expect(forwarded.rxPackets >= 3)

        // B's end disappears: the cross-connect stops and parks, its counters stay in status.
        try run("ip", "link", "del", hosts.forwarderB)
        #expect(waitUntil { lab.log().contains("cross-connect parked: an interface disappeared") })
        let kept = try #require(try lab.status().bindings.first { $0.interface == hosts.forwarderA })
        #expect(kept.rxPackets >= forwarded.rxPackets)
        #expect(try lab.status().instances.first?.mirroredPackets ?? 0 >= forwarded.mirroredPackets)
    }
}
