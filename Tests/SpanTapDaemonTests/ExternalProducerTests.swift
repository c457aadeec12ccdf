import Foundation
import Glibc
import SpanTapControl
import SpanTapTestSupport
import Testing

/// The C example producer (Examples/c-producer) attaching to a real spantapd.
@Suite(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct ExternalProducerTests {
    static func buildProducer() throws -> String {
        try compiledFixture("Examples/c-producer/spantap_producer.c")
    }

    /// Frame sequence numbers the C producer wrote (the 8 bytes after EtherType 0x88b5, which
    /// follows the MACs or one 802.1Q tag), in arrival order.
    static func sequence(_ frames: [[UInt8]]) -> [Int64] {
        frames.compactMap { frame -> Int64? in
            let at = frame.count >= 18 && frame[12] == 0x81 && frame[13] == 0x00 ? 16 : 12
            guard frame.count >= at + 10, frame[at] == 0x88, frame[at + 1] == 0xb5 else { return nil }
            return frame[(at + 2)..<(at + 10)].withUnsafeBytes { $0.loadUnaligned(as: Int64.self) }
        }
    }

    /// The outer VLAN id of a captured frame, 0 if untagged.
    static func vlan(_ frame: [UInt8]) -> Int {
        frame.count >= 16 && frame[12] == 0x81 && frame[13] == 0x00 ? (Int(frame[14]) << 8 | Int(frame[15])) & 0x0fff : 0
    }

    /// Two units of one port, each to its own output (Junos NAME.UNIT), fed by a real producer
    /// process that tags its frames 100, 200, 100, ...: every record reaches its unit's output,
    /// none is refused as not granted.
    @Test func twoUnitsOfOnePortReachTheirTwoOutputs() throws {
        let producer = try Self.buildProducer()
        let port = try DaemonLab.makeIngress(), tapA = uniqueName("ua"), tapB = uniqueName("ub")
        let lab = try DaemonLab(config: DaemonLab.config(instance: "a", ingress: ["\(port).100"], output: tapA)
            + DaemonLab.config(instance: "b", ingress: ["\(port).200"], output: tapB))
        lab.interfaces = [port, tapA, tapB]
        defer { lab.cleanUp() }
        try lab.start()
        let captureA = try PacketCapture(ifindex: try #require(ifindex(of: tapA)))
        let captureB = try PacketCapture(ifindex: try #require(ifindex(of: tapB)))

        let printed = try run(producer, "-s", lab.socketPath, "-n", "units", "-i", port, "-v", "100", "-v", "200", "-c", "40", "-b", "8")
        #expect(printed.contains("mirrored_packets=40 "), "\(printed)")
        let framesA = captureA.drain(), framesB = captureB.drain()
        #expect(Self.sequence(framesA) == Array(stride(from: 0, to: 40, by: 2)) && framesA.allSatisfy { Self.vlan($0) == 100 })
        #expect(Self.sequence(framesB) == Array(stride(from: 1, to: 40, by: 2)) && framesB.allSatisfy { Self.vlan($0) == 200 })
        let detached = try lab.status().daemon.detachedProducers
        #expect(detached.mirrorDropsNotGranted == 0 && detached.mirroredPackets == 40, "\(detached)")
    }

    /// An instance's filter run by a real producer process on frames it generates: tagged 100,
    /// 200, 300, 100, ... under `filter "vlan 200"`, exactly every third frame reaches the TAP and
    /// the other two are counted as filter_rejected in the producer's line and in status (the
    /// detached producers' totals, once it has gone).
    @Test func theExampleProducerRunsTheInstanceFilter() throws {
        let producer = try Self.buildProducer()
        let port = try DaemonLab.makeIngress(), tap = uniqueName("out")
        let lab = try DaemonLab(config: DaemonLab.config(ingress: [port], output: tap)
            + "set forwarding-options port-mirroring instance span1 input filter \"vlan 200\"\n")
        lab.interfaces = [port, tap]
        defer { lab.cleanUp() }
        try lab.start()
        let capture = try PacketCapture(ifindex: try #require(ifindex(of: tap)))

        let printed = try run(producer, "-s", lab.socketPath, "-n", "filtered", "-i", port,
                              "-v", "100", "-v", "200", "-v", "300", "-c", "90", "-b", "16", "-w", "1")
        #expect(printed.contains("mirrored_packets=30 ") && printed.contains("filter_rejected=60"), "\(printed)")
        #expect(waitUntil { (try? lab.status().instances.first?.deliveredPackets) == 30 })
        let frames = capture.drain()
        #expect(Self.sequence(frames) == Array(stride(from: 1, to: 90, by: 3)) && frames.allSatisfy { Self.vlan($0) == 200 },
                "\(Self.sequence(frames))")
        let detached = try lab.status().daemon.detachedProducers
        #expect(detached.filterRejected == 60 && detached.mirroredPackets == 30, "\(detached)")
    }

    @Test func cProducerAttachesFeedsTheTapAndDetaches() throws {
        let producer = try Self.buildProducer()
        let (lab, tap) = try DaemonLab.startedWithTap()
        defer { lab.cleanUp() }
        let capture = try PacketCapture(ifindex: try #require(ifindex(of: tap)))

        let printed = try run(producer, "-s", lab.socketPath, "-n", "xpf-test", "-c", "200", "-l", "300")
        #expect(printed.contains("mirrored_packets=200 mirror_drops_queue_full=0"))
        let frames = capture.drain()
        #expect(Self.sequence(frames) == Array(0..<200))
        #expect(frames.allSatisfy { $0.count == 300 })
        #expect(waitUntil { (try? lab.status().producers.isEmpty) == true }, "closing the socket detaches the producer")
        #expect(try lab.status().instances.first?.deliveredPackets == 200)
        #expect(lab.log().contains("producer detached; ring drained and freed"))
    }

    /// A producer built against an older ring ABI (an "abi" below this build's, or none: ABI 1
    /// had no such field) is refused before any ring exists, with a message that says what changed;
    /// the same connection then attaches with the current ABI, so the refusal is the ABI's alone.
    @Test(arguments: [AttachProducer.currentABI - 1, nil] as [Int?])
    func aProducerOfAnOlderABIIsRefusedWithWhatChanged(abi: Int?) throws {
        let (lab, _) = try DaemonLab.startedWithTap()
        defer { lab.cleanUp() }
        let client = try ControlClient(path: lab.socketPath)
        let (refused, refusedDescriptors) = try client.send(.attachProducer(AttachProducer(name: "old-abi", abi: abi)))
        #expect(!refused.ok)
        #expect(refusedDescriptors.isEmpty, "a refused producer gets no ring")
        let error = try #require(refused.error)
        #expect(error.contains("speaks ring ABI \(AttachProducer.currentABI)"), "\(error)")
        #expect(error.contains(abi.map { "asks for ABI \($0)" } ?? "has no \"abi\" field"), "\(error)")
        #expect(error.contains("rebuild against the current spantap_ring.h"), "\(error)")
        #expect(try lab.status().producers.isEmpty)

        let (accepted, descriptors) = try client.send(.attachProducer(AttachProducer(name: "new-abi")))
        defer { for descriptor in descriptors { try? descriptor.close() } }
        #expect(accepted.ok, "\(accepted.error ?? "")")
        #expect(descriptors.count == 2, "the current ABI gets its memfd and eventfd")
        #expect(try lab.status().producers.map(\.name) == ["new-abi"])
    }

    @Test func producerHonoursTheInstancesMaximumPacketLength() throws {
        let producer = try Self.buildProducer()
        let tap = uniqueName("out"), ingress = try DaemonLab.makeIngress()
        let lab = try DaemonLab(config: DaemonLab.config(ingress: [ingress], output: tap)
            + "set forwarding-options port-mirroring instance span1 input maximum-packet-length 100\n")
        lab.interfaces = [tap, ingress]
        defer { lab.cleanUp() }
        try lab.start()
        let capture = try PacketCapture(ifindex: try #require(ifindex(of: tap)))

        _ = try run(producer, "-s", lab.socketPath, "-c", "20", "-l", "300")
        let frames = capture.drain()
        #expect(Self.sequence(frames) == Array(0..<20))
        #expect(frames.allSatisfy { $0.count == 100 }, "captured to the snap length: \(Set(frames.map(\.count)))")
    }

    @Test func aProducerThatDiesIsDetectedAndItsRingFreed() throws {
        let producer = try Self.buildProducer()
        let (lab, _) = try DaemonLab.startedWithTap()
        defer { lab.cleanUp() }

        let child = try SpawnedProcess([producer, "-s", lab.socketPath, "-n", "doomed", "-c", "10", "-w", "60"])
        #expect(waitUntil { (try? lab.status().producers.map(\.name)) == ["doomed"] })
        #expect(try lab.status().producers.first?.pid == child.processIdentifier)
        // Attached first, offering a moment later (a loaded machine can show the gap).
        #expect(waitUntil { (try? lab.status().producers.first?.mirroredPackets) == 10 })

        kill(child.processIdentifier, SIGKILL)
        #expect(waitUntil { (try? lab.status().producers.isEmpty) == true })
        #expect(try lab.status().instances.first?.deliveredPackets == 10, "the dead producer's ring was drained first")
    }

    @Test func portOutputPutsFramesOnTheWire() throws {
        let producer = try Self.buildProducer()
        let port = uniqueName("port"), peer = uniqueName("peer")
        try run("ip", "link", "add", port, "type", "veth", "peer", "name", peer)
        let ingress = try DaemonLab.makeIngress()
        let lab = try DaemonLab(config: DaemonLab.config(ingress: [ingress], output: port))
        lab.interfaces = [port, peer, ingress]
        defer { lab.cleanUp() }
        try run("ip", "link", "set", port, "up")
        try run("ip", "link", "set", peer, "up")
        try lab.start()
        #expect(try lab.status().instances.first?.output.kind == "port")
        let capture = try PacketCapture(ifindex: try #require(ifindex(of: peer)))

        _ = try run(producer, "-s", lab.socketPath, "-c", "25", "-l", "200")
        #expect(Self.sequence(capture.drain()) == Array(0..<25))
        #expect(waitUntil { (try? lab.status().instances.first?.deliveredPackets) == 25 })
        #expect(lab.stop() == 0)
        #expect(ifindex(of: port) != nil, "spantapd never deletes an interface it did not create")
    }
}
