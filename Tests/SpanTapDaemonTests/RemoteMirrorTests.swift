import Foundation
import Glibc
import SpanTapControl
import SpanTapTestSupport
import Testing

/// Remote mirroring end to end: host A -> spantapd's AF_XDP cross-connect -> host B, host A's
/// side mirrored into a VXLAN device spantapd creates, decapsulated by a collector namespace with
/// its own VXLAN device, as an operator's analyzer host does it.
@Suite(.serialized, .enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct RemoteMirrorTests {
    init() { NamespaceLab.ensureBPFFS() }

    static func config(_ hosts: NamespaceLab, vxlan: [String]) -> String {
        "set forwarding-options port-mirroring instance span1 input ingress interface \(hosts.forwarderA)\n"
            + vxlan.map { "set forwarding-options port-mirroring instance span1 output vxlan \($0)\n" }.joined()
            + "set dataplane xdp-mode generic\n"
            + "set dataplane cross-connect wire0 interface \(hosts.forwarderA)\n"
            + "set dataplane cross-connect wire0 interface \(hosts.forwarderB)\n"
    }

    static func tunnel(to collector: CollectorLab, vni: UInt32) -> [String] {
        ["remote \(collector.collectorAddress)", "vni \(vni)", "local \(collector.localAddress)"]
    }

    /// Sends `frames` raw out of host A's eth0, 20 ms apart (no 8021q module needed for tags).
    static func sendFromA(_ hosts: NamespaceLab, _ frames: [[UInt8]]) throws {
        let sender = try compiledFixture("Tests/Fixtures/send_frames.c")
        let hex = frames.map { $0.map { String(format: "%02x", $0) }.joined() }
        try run(["ip", "netns", "exec", hosts.namespaceA, sender, "eth0", "\(frames.count)", "20000"] + hex)
    }

    /// Status once every mirrored frame is accounted for: delivered, dropped for no output, or a write error.
    static func settled(_ lab: DaemonLab) throws -> StatusReport.Instance {
        _ = waitUntil {
            guard let instance = try? lab.status().instances.first else { return false }
            return instance.mirroredPackets == instance.deliveredPackets + instance.mirrorDropsNoBinding + instance.writeErrors
        }
        return try #require(try lab.status().instances.first)
    }

    @Test func everyMirroredFrameReachesTheCollectorByteForByte() throws {
        let remote = try RemoteLab()
        defer { remote.teardown() }
        let (hosts, collector) = (remote.hosts, remote.collector)
        let vni = UInt32.random(in: 1000...16_000_000)
        let lab = try DaemonLab(config: Self.config(hosts, vxlan: Self.tunnel(to: collector, vni: vni)))
        lab.interfaces = ["stv\(vni)"]
        defer { lab.cleanUp() }
        let collectorDevice = try collector.addVXLAN(vni: vni)
        try lab.start()

        let sent = try PcapCapture(namespace: hosts.namespaceA, interface: "eth0", direction: "out")
        let inner = try PcapCapture(namespace: collector.namespace, interface: collectorDevice, direction: "in")
        let outer = try PcapCapture(namespace: collector.namespace, interface: "eth0", direction: "in", filter: ["udp", "port", "4789"])
        try hosts.inA("ping", "-c", "3", "-i", "0.2", "-W", "2", hosts.addressB)
        try Self.sendFromA(hosts, [EthernetFrames.vlanTagged(vid: 100, total: 128, seed: 1),
                                   EthernetFrames.vlanTagged(vid: 100, total: 1518, seed: 2),
                                   EthernetFrames.vlanTagged(vid: 100, tpid: 0x88a8, total: 64, seed: 3)])
        // 1514-byte frames: 1564-byte outer packets, larger than the 1500-byte underlay, are
        // fragmented by spantapd's kernel and reassembled by the collector's.
        try hosts.inA("ping", "-c", "2", "-i", "0.2", "-W", "2", "-s", "1472", hosts.addressB)
        usleep(300_000)
        let sentFrames = try sent.stop(), received = try inner.stop(), encapsulated = try outer.stop()
        let instance = try Self.settled(lab)

        #expect(sentFrames.count >= 8, "3 + 2 echo requests, 3 tagged frames, host A's ARP requests")
        #expect(received == sentFrames, "the collector sees exactly what host A sent, in order")
        #expect(received.filter { $0[14] & 0x0f == 0 && $0[15] == 100 }.map { [$0[12], $0[13]] } == [[0x81, 0], [0x81, 0], [0x88, 0xa8]],
                "802.1Q and 802.1ad tags kept")
        #expect(received.filter { $0.count == 1514 }.count == 2)
        #expect(encapsulated.count == received.count)
        for packet in encapsulated {
            let udp = 14 + Int(packet[14] & 0x0f) * 4
            #expect(packet[12] == 0x08 && packet[13] == 0x00 && packet[23] == 17, "IPv4 UDP")
            #expect(Int(packet[udp + 2]) << 8 | Int(packet[udp + 3]) == 4789)
            #expect(packet[udp + 8] == 0x08, "VXLAN flags: VNI valid")
            #expect(UInt32(packet[udp + 12]) << 16 | UInt32(packet[udp + 13]) << 8 | UInt32(packet[udp + 14]) == vni)
        }

        #expect(instance.output.kind == "vxlan")
        #expect(instance.output.interface == "stv\(vni)")
        #expect(instance.output.remote == collector.collectorAddress)
        #expect(instance.output.vni == vni && instance.output.dstport == 4789)
        #expect(instance.deliveredPackets == UInt64(received.count))
        #expect(instance.writeErrors == 0 && instance.mirrorDropsNoBinding == 0)

        #expect(lab.stop() == 0)
        #expect(ifindex(of: "stv\(vni)") == nil, "a non-persistent VXLAN device is removed on stop")
    }

    /// Starts a steady stream from host A to B: `count` echo requests, 10 ms apart.
    static func startPings(_ hosts: NamespaceLab, count: Int) throws -> SpawnedProcess {
        try SpawnedProcess(["ip", "netns", "exec", hosts.namespaceA, "ping", "-q", "-c", "\(count)", "-i", "0.01", hosts.addressB])
    }


    @Test func reloadToAnotherVNILosesNothingUncountedAndADeletedDeviceComesBack() throws {
        let remote = try RemoteLab()
        defer { remote.teardown() }
        let (hosts, collector) = (remote.hosts, remote.collector)
        let first = UInt32.random(in: 1000...8_000_000), second = first + 1
        let lab = try DaemonLab(config: Self.config(hosts, vxlan: Self.tunnel(to: collector, vni: first)))
        lab.interfaces = ["stv\(first)", "stv\(second)"]
        defer { lab.cleanUp() }
        let captures = try [first, second].map {
            try PcapCapture(namespace: collector.namespace, interface: collector.addVXLAN(vni: $0), direction: "in")
        }
        try lab.start()

        // A reload to a new VNI in the middle of a steady stream: a new device, the old one
        // deleted, and every frame either arrives or is counted.
        var ping = try Self.startPings(hosts, count: 150)
        defer { ping.signal(SIGTERM) }
        usleep(700_000)
        try lab.writeConfig(Self.config(hosts, vxlan: Self.tunnel(to: collector, vni: second)))
        let reload = try lab.send(.reload)
        #expect(reload.ok, "\(reload.error ?? "")")
        #expect(reload.message == "instances changed: span1; outputs added: stv\(second); outputs removed: stv\(first)")
        #expect(ifindex(of: "stv\(first)") == nil)
        ping.waitUntilExit()
        let afterReload = try Self.settled(lab)
        usleep(300_000)
        let arrivedFirst = try captures[0].stop()
        let arrivedSecondSoFar = try captures[1].stop().count
        #expect(arrivedFirst.count > 0 && arrivedSecondSoFar > 0, "frames reached the first VNI, then the second")
        #expect(afterReload.mirroredPackets >= 150)
        #expect(afterReload.mirroredPackets == afterReload.deliveredPackets + afterReload.mirrorDropsNoBinding + afterReload.writeErrors)
        #expect(UInt64(arrivedFirst.count + arrivedSecondSoFar) == afterReload.deliveredPackets, "every delivered frame arrived")
        print("reload: mirrored \(afterReload.mirroredPackets), delivered \(afterReload.deliveredPackets), no_binding \(afterReload.mirrorDropsNoBinding)")

        // Deleted behind spantapd's back mid-stream: re-created within a second, counted.
        let capture = try PcapCapture(namespace: collector.namespace, interface: "vx\(second)", direction: "in")
        ping = try Self.startPings(hosts, count: 150)
        usleep(700_000)
        let before = try #require(ifindex(of: "stv\(second)"))
        let deletedAt = monotonicSeconds()
        try run("ip", "link", "del", "stv\(second)")
        #expect(waitUntil(seconds: 1) { ifindex(of: "stv\(second)").map { $0 != before } ?? false }, "re-created within a second")
        print("deletion: re-created \(Int((monotonicSeconds() - deletedAt) * 1000)) ms after it was deleted")
        ping.waitUntilExit()
        let instance = try Self.settled(lab)
        usleep(300_000)
        let arrived = UInt64(try capture.stop().count)
        let delivered = instance.deliveredPackets - afterReload.deliveredPackets
        #expect(instance.recreated == 1)
        #expect(instance.mirroredPackets == instance.deliveredPackets + instance.mirrorDropsNoBinding + instance.writeErrors)
        // Frames written while the kernel tears the device down (after its socket is released,
        // before IFF_UP is cleared) are dropped by the dying device, their count gone with it: at
        // this test's 100 frames/s, the few of that window (1-2 seen; more under CPU load).
        #expect(delivered >= arrived && delivered - arrived <= 10, "delivered \(delivered), arrived \(arrived)")
        print("deletion: delivered \(delivered), arrived \(arrived), no_binding \(instance.mirrorDropsNoBinding - afterReload.mirrorDropsNoBinding)")
    }

    @Test func reloadWithAnotherRemoteRemakesTheDeviceInPlace() throws {
        let vni = UInt32.random(in: 1000...16_000_000), device = "stv\(vni)"
        func config(remote: String) -> String {
            ["input ingress interface \(uniqueName("in"))", "output vxlan remote \(remote)", "output vxlan vni \(vni)"]
                .map { "set forwarding-options port-mirroring instance span1 \($0)\n" }.joined()
        }
        let lab = try DaemonLab(config: config(remote: "10.78.0.2"))
        lab.interfaces = [device]
        defer { lab.cleanUp() }
        try lab.start()
        let before = try #require(ifindex(of: device))

        try lab.writeConfig(config(remote: "10.78.0.3"))
        let reload = try lab.send(.reload)
        #expect(reload.message?.contains("outputs re-made: \(device)") == true, "\(reload.message ?? reload.error ?? "")")
        let after = try #require(ifindex(of: device))
        #expect(after != before)
        #expect(try run("ip", "-d", "link", "show", device).contains("remote 10.78.0.3"))
        let output = try #require(try lab.status().instances.first?.output)
        #expect(output.kind == "vxlan" && output.remote == "10.78.0.3" && output.ifindex == after)
    }

    @Test func framesForARemoteWithoutARouteAreCountedAsNoRoute() throws {
        let hosts = try NamespaceLab()
        defer { hosts.teardown() }
        // TEST-NET-2, made unroutable for this test only: a `throw` route ends the lookup with
        // ENETUNREACH, so nothing can leave towards it whatever the machine's default route is.
        let remote = "198.51.100.\(Int.random(in: 1...254))"
        try run("ip", "route", "add", "throw", "\(remote)/32")
        defer { _ = try? run("ip", "route", "del", "throw", "\(remote)/32") }
        let vni = UInt32.random(in: 1000...16_000_000)
        let lab = try DaemonLab(config: Self.config(hosts, vxlan: ["remote \(remote)", "vni \(vni)"]))
        lab.interfaces = ["stv\(vni)"]
        defer { lab.cleanUp() }
        try lab.start()

        try hosts.inA("ping", "-c", "3", "-i", "0.2", "-W", "2", hosts.addressB)
        let instance = try Self.settled(lab)
        let reasons = try #require(instance.output.writeErrorReasons)
        #expect(instance.mirroredPackets >= 3)
        #expect(reasons.noRoute == instance.mirroredPackets)
        #expect(instance.writeErrors == reasons.total)
        #expect(instance.deliveredPackets == 0)
    }
}
