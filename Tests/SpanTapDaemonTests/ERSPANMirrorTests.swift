import Foundation
import Glibc
import SpanTapControl
import SpanTapTestSupport
import Testing

/// ERSPAN and GRE that spantapd builds itself, judged by tshark on a collector namespace: host A
/// -> spantapd's AF_XDP cross-connect -> host B, host A's port mirrored to a raw GRE session. The
/// collector has no GRE receiver (this kernel has no ip_gre) and answers with ICMP "protocol
/// unreachable", as many a capture-only analyzer host does; the kernel does not hand those to the
/// sending socket, so they cost nothing.
@Suite(.serialized, .enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct ERSPANMirrorTests {
    init() { NamespaceLab.ensureBPFFS() }

    static func config(_ hosts: NamespaceLab, _ collector: CollectorLab, _ stanza: String, _ fields: [String],
                       egress: Bool = false, input: [String] = []) -> String {
        let instance = "set forwarding-options analyzer span1"
        let lines = ["\(instance) input ingress interface \(hosts.forwarderA)"]
            + (egress ? ["\(instance) input egress interface \(hosts.forwarderA)"] : [])
            + input.map { "\(instance) input \($0)" }
            + ["\(instance) output interface ers1"]
            + (["remote \(collector.collectorAddress)", "local \(collector.localAddress)"] + fields).map { "\(instance) output \(stanza) \($0)" }
            + ["set dataplane xdp-mode generic",
               "set dataplane cross-connect wire0 interface \(hosts.forwarderA)",
               "set dataplane cross-connect wire0 interface \(hosts.forwarderB)"]
        return lines.joined(separator: "\n") + "\n"
    }

    /// tshark's `fields` of every packet in `file`, one row each.
    static func decode(_ file: URL, _ fields: [String]) throws -> [[String]] {
        // `run` merges tshark's stderr ("running as root"): rows are the lines with fields.
        try run(["tshark", "-r", file.path, "-T", "fields", "-E", "occurrence=l"] + fields.flatMap { ["-e", $0] })
            .split(separator: "\n").filter { $0.contains("\t") }
            .map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    /// The mirrored frame inside a captured GRE packet: after the outer Ethernet and IP headers
    /// and `encapsulation` bytes of GRE (+ ERSPAN).
    static func inner(_ packet: [UInt8], encapsulation: Int) -> [UInt8] {
        let ip = packet[12] == 0x86 ? 40 : Int(packet[14] & 0x0f) * 4
        return Array(packet[(14 + ip + encapsulation)...])
    }

    /// Sends `count` raw frames out of host A's eth0, cycling through `frames`, `interval` µs apart.
    static func send(_ hosts: NamespaceLab, _ frames: [[UInt8]], count: Int, interval: Int) throws {
        let sender = try compiledFixture("Tests/Fixtures/send_frames.c")
        try run(["ip", "netns", "exec", hosts.namespaceA, sender, "eth0", "\(count)", "\(interval)"]
            + frames.map { $0.map { String(format: "%02x", $0) }.joined() })
    }

    /// Both sides agree on every mirrored frame (sorted, so interleaving ingress and egress copies
    /// of two bindings does not matter).
    static func sameFrames(_ a: [[UInt8]], _ b: [[UInt8]]) -> Bool {
        a.sorted { $0.lexicographicallyPrecedes($1) } == b.sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// Sequence numbers as the collector counts them: every number once, none missing.
    static func consecutive(_ numbers: [Int]) -> Bool {
        let sorted = numbers.sorted()
        return sorted == Array((sorted.first ?? 0)..<((sorted.first ?? 0) + sorted.count))
    }

    @Test func typeIIIMarksEachFramesDirectionAndTruncationAndLosesNothingAt10kpps() throws {
        let remote = try RemoteLab()
        defer { remote.teardown() }
        let (hosts, collector) = (remote.hosts, remote.collector)
        let session = Int.random(in: 1...1023)
        let lab = try DaemonLab(config: Self.config(hosts, collector, "erspan", ["version 3", "session-id \(session)", "hardware-id 5"],
                                                    egress: true, input: ["maximum-packet-length 300"]))
        defer { lab.cleanUp() }
        try lab.start()

        let seen = try PcapCapture(namespace: hosts.namespaceA, interface: "eth0", direction: "inout")
        let arriving = try PcapCapture(namespace: collector.namespace, interface: "eth0", direction: "in", filter: ["ip", "proto", "47"])
        try hosts.inA("ping", "-c", "20", "-i", "0.01", "-W", "2", hosts.addressB)
        try hosts.inA("ping", "-c", "10", "-i", "0.01", "-W", "2", "-s", "1000", hosts.addressB)
        // A steady 10 kpps (100 µs apart) of frames host B ignores: ingress copies only.
        try Self.send(hosts, [EthernetFrames.ipv4(total: 100, seed: 1), EthernetFrames.ipv4(total: 700, seed: 2)], count: 3000, interval: 100)
        let instance = try RemoteMirrorTests.settled(lab)
        usleep(300_000)
        let forwarderSaw = try seen.stop(), packets = try arriving.stop()
        let rows = try Self.decode(arriving.file, ["gre.sequence_number", "erspan.version", "erspan.spanid", "erspan.hw",
                                                   "erspan.direction", "erspan.truncated", "erspan.gra"])

        #expect(forwarderSaw.count >= 3060, "20 + 10 echo requests and their replies, 3000 raw frames")
        #expect(packets.count == forwarderSaw.count && rows.count == packets.count, "one GRE packet per frame, nothing lost")
        #expect(instance.mirroredPackets == UInt64(forwarderSaw.count) && instance.deliveredPackets == instance.mirroredPackets)
        #expect(instance.writeErrors == 0)
        #expect(Self.consecutive(rows.compactMap { Int($0[0]) }), "GRE sequence numbers count every frame once")
        #expect(rows.allSatisfy { $0[1] == "2" && $0[2] == "\(session)" && $0[3] == "5" && $0[6] == "1" },
                "ERSPAN version field 2 (Type III), the session, hardware id 5, granularity 100 ns: \(rows.first ?? [])")
        let inners = packets.map { Self.inner($0, encapsulation: 4 + 4 + 12) }
        #expect(Self.sameFrames(inners, forwarderSaw.map { Array($0.prefix(300)) }), "inner frames are the forwarder's, clipped to 300 bytes")
        var checked = 0
        for (row, frame) in zip(rows, inners) where frame.count > 34 && frame[12] == 0x08 && frame[13] == 0x00 && frame[23] == 1 {
            let icmpType = frame[14 + Int(frame[14] & 0x0f) * 4]
            let egress = row[4] == "1" || row[4] == "True"
            #expect(egress == (icmpType == 0), "an echo reply is an egress copy (D = 1), a request an ingress one")
            let truncated = row[5] == "1"
            #expect(truncated == (frame.count == 300), "T set exactly on the frames maximum-packet-length clipped")
            checked += 1
        }
        #expect(checked == 60, "20 + 10 requests and replies checked for direction and T")

        let output = instance.output
        #expect(output.kind == "erspan" && output.interface == "ers1" && output.remote == collector.collectorAddress)
        #expect(output.session?.version == 3 && output.session?.sessionId == UInt16(session) && output.session?.hardwareId == 5)
        #expect(output.session?.pathMtu == 1500 && output.session?.truncated == 0)
        #expect(lab.stop() == 0)
    }

    @Test func typeIIOverIPv6CarriesVLANAndIndexAndCutsFramesToThePathMTU() throws {
        let remote = try RemoteLab(ipv6: true)
        defer { remote.teardown() }
        let (hosts, collector) = (remote.hosts, remote.collector)
        let session = Int.random(in: 1...1023)
        let lab = try DaemonLab(config: Self.config(hosts, collector, "erspan", ["version 2", "session-id \(session)", "index 77"]))
        defer { lab.cleanUp() }
        try lab.start()

        let arriving = try PcapCapture(namespace: collector.namespace, interface: "eth0", direction: "in", filter: ["ip6", "proto", "47"])
        let frames = [EthernetFrames.vlanTagged(vid: 100, priority: 3, total: 128, seed: 1), EthernetFrames.ipv4(total: 200, seed: 2),
                      EthernetFrames.ipv4(total: 1514, seed: 3)]
        try Self.send(hosts, frames, count: 3, interval: 20_000)
        let instance = try RemoteMirrorTests.settled(lab)
        usleep(300_000)
        let packets = try arriving.stop()
        let rows = try Self.decode(arriving.file, ["erspan.version", "erspan.spanid", "erspan.index", "erspan.vlan", "erspan.cos",
                                                   "erspan.encap", "erspan.truncated"])

        #expect(packets.count == 3 && rows.count == 3)
        #expect(packets.allSatisfy { $0[12] == 0x86 && $0[13] == 0xdd && $0[20] == 47 }, "IPv6, next header GRE")
        #expect(rows.allSatisfy { $0[0] == "1" && $0[1] == "\(session)" && $0[2] == "77" }, "Type II (version field 1), session, index")
        #expect(rows.map { [$0[3], $0[4], $0[5]] } == [["100", "3", "3"], ["0", "0", "0"], ["0", "0", "0"]],
                "the tagged frame's VLAN and CoS, encapsulation 'tag kept in the frame'; untagged ones 0")
        // 1500 less 40 (IPv6), 8 (GRE with sequence), 8 (ERSPAN Type II): the 1514-byte frame is cut to 1444.
        let inners = packets.map { Self.inner($0, encapsulation: 4 + 4 + 8) }
        #expect(inners == [frames[0], frames[1], Array(frames[2].prefix(1444))], "inner frames byte for byte, the big one cut to fit")
        #expect(rows.map { $0[6] } == ["0", "0", "1"], "T set on the frame cut to the path MTU")
        #expect(instance.output.session?.truncated == 1 && instance.output.session?.version == 2)
        #expect(instance.deliveredPackets == 3)
        #expect(lab.stop() == 0)
    }

    /// The path changes under a running session: a route with a smaller MTU makes the next big
    /// frame's send fail (EMSGSIZE, counted), after which frames are cut to the new MTU with the T
    /// bit; a route that makes the collector unreachable counts its frames as no_route.
    @Test func aShrunkPathMTUIsReadAgainAndALostRouteIsCounted() throws {
        let remote = try RemoteLab()
        defer { remote.teardown() }
        let (hosts, collector) = (remote.hosts, remote.collector)
        let lab = try DaemonLab(config: Self.config(hosts, collector, "erspan", ["version 2", "session-id 5"]))
        defer { lab.cleanUp() }
        try lab.start()
        let session = { try #require(try lab.status().instances.first?.output.session) }
        let big = EthernetFrames.ipv4(total: 1400, seed: 4)

        let arriving = try PcapCapture(namespace: collector.namespace, interface: "eth0", direction: "in", filter: ["ip", "proto", "47"])
        try Self.send(hosts, [big], count: 2, interval: 20_000)
        _ = try RemoteMirrorTests.settled(lab)
        try run("ip", "route", "add", "\(collector.collectorAddress)/32", "dev", collector.underlay, "mtu", "lock", "1300")
        // The unreachable route below is tied to no device: removed here whatever happens.
        defer { _ = try? run("ip", "route", "del", "\(collector.collectorAddress)/32") }
        try Self.send(hosts, [big], count: 3, interval: 20_000)
        _ = try RemoteMirrorTests.settled(lab)
        usleep(300_000)
        let packets = try arriving.stop()
        let shrunk = try session()
        // 1300 less 20 (IPv4), 8 (GRE with sequence), 8 (ERSPAN Type II).
        #expect(packets.map(\.count) == [14 + 20 + 16 + 1400, 14 + 20 + 16 + 1400, 14 + 1300, 14 + 1300],
                "two whole, one refused, two cut to the new MTU: \(packets.map(\.count))")
        #expect(shrunk.messageTooLong == 1 && shrunk.truncated == 2 && shrunk.pathMtu == 1300, "\(shrunk)")

        try run("ip", "route", "replace", "unreachable", "\(collector.collectorAddress)/32")
        try Self.send(hosts, [EthernetFrames.ipv4(total: 100, seed: 5)], count: 2, interval: 20_000)
        let instance = try RemoteMirrorTests.settled(lab)
        #expect(instance.output.session?.noRoute == 2 && instance.writeErrors == 3, "\(instance.output)")
        #expect(lab.stop() == 0)
    }

    /// spantapd starts before the network is configured: a session whose remote has no route
    /// yet, or whose `local` address is on no interface yet, waits (its frames count as
    /// no_binding) while the cross-connect forwards and mirrors, and sends once the network is there.
    @Test(arguments: ["no route to the remote", "the local address on no interface"])
    func aSessionTheNetworkCannotCarryYetWaitsForIt(_ missing: String) throws {
        let remote = try RemoteLab()
        defer { remote.teardown() }
        let (hosts, collector) = (remote.hosts, remote.collector)
        var config = Self.config(hosts, collector, "erspan", ["version 3", "session-id 9"])
        let later = collector.localAddress.split(separator: ".").dropLast().joined(separator: ".") + ".3"
        let blocked: [String]?, unblock: [String]
        if missing == "no route to the remote" {
            blocked = ["ip", "route", "add", "unreachable", "\(collector.collectorAddress)/32"]
            unblock = ["ip", "route", "del", "unreachable", "\(collector.collectorAddress)/32"]
        } else {
            config = config.replacingOccurrences(of: "local \(collector.localAddress)", with: "local \(later)")
            blocked = nil
            unblock = ["ip", "addr", "add", "\(later)/24", "dev", collector.underlay]
        }
        if let blocked { try run(blocked) }
        // The unreachable route is tied to no device: removed here whatever happens.
        defer { _ = try? run("ip", "route", "del", "unreachable", "\(collector.collectorAddress)/32") }
        let lab = try DaemonLab(config: config)
        defer { lab.cleanUp() }
        try lab.start()
        #expect(try lab.status().instances.first?.output.kind == "missing")
        #expect(lab.log().contains("the output's remote cannot be reached yet"), "\(lab.log())")

        try Self.send(hosts, [EthernetFrames.ipv4(total: 100, seed: 6)], count: 2, interval: 20_000)
        let waiting = try RemoteMirrorTests.settled(lab)
        #expect(waiting.mirroredPackets == 2 && waiting.mirrorDropsNoBinding == 2, "\(waiting)")
        try run(unblock)
        #expect(waitUntil(seconds: 3) { (try? lab.status().instances.first?.output.kind) == "erspan" }, "connected within a second or two")
        let arriving = try PcapCapture(namespace: collector.namespace, interface: "eth0", direction: "in", filter: ["ip", "proto", "47"])
        let frames = (7..<10).map { EthernetFrames.ipv4(total: 100, seed: $0) }
        try Self.send(hosts, frames, count: 3, interval: 20_000)
        let sending = try RemoteMirrorTests.settled(lab)
        usleep(300_000)
        let packets = try arriving.stop()
        #expect(packets.map { Self.inner($0, encapsulation: 4 + 4 + 12) } == frames, "the three frames after, byte for byte")
        #expect(sending.deliveredPackets == 3 && sending.mirrorDropsNoBinding == 2 && sending.writeErrors == 0, "\(sending)")
        #expect(lab.log().contains("the output's remote can be reached: it sends from now on"))
        #expect(lab.stop() == 0)
    }

    @Test func greCarriesEthernetWithKeyAndSequenceAndDropsWhatTheMTUCannotTake() throws {
        let remote = try RemoteLab()
        defer { remote.teardown() }
        let (hosts, collector) = (remote.hosts, remote.collector)
        // The write(2) sink, where the other tests have io_uring: both send remote frames with sendmmsg.
        let lab = try DaemonLab(config: Self.config(hosts, collector, "gre", ["key 42", "sequence"]) + "set sink io-uring off\n")
        defer { lab.cleanUp() }
        try lab.start()

        let arriving = try PcapCapture(namespace: collector.namespace, interface: "eth0", direction: "in", filter: ["ip", "proto", "47"])
        // 1500 less 20 (IPv4) and 12 (GRE with key and sequence): 1468 bytes fit, 1469 do not.
        let frames = [EthernetFrames.vlanTagged(vid: 200, total: 300, seed: 1), EthernetFrames.ipv4(total: 1468, seed: 2),
                      EthernetFrames.ipv4(total: 1469, seed: 3)]
        try Self.send(hosts, frames, count: 6, interval: 20_000)
        let instance = try RemoteMirrorTests.settled(lab)
        usleep(300_000)
        let packets = try arriving.stop()
        let rows = try Self.decode(arriving.file, ["gre.proto", "gre.key", "gre.sequence_number", "eth.src"])

        #expect(packets.count == 4, "the two 1469-byte frames are dropped, not fragmented")
        #expect(rows.allSatisfy { $0[0] == "0x6558" && ($0[1] == "0x0000002a" || $0[1] == "42") }, "Ethernet in GRE, key 42: \(rows)")
        #expect(rows.allSatisfy { $0[3] == "02:00:5e:10:00:01" }, "tshark decodes the inner Ethernet frame")
        #expect(rows.map { Int($0[2]) ?? -1 } == [0, 1, 3, 4], "every frame took a sequence number: the collector sees the two drops as gaps")
        #expect(packets.map { Self.inner($0, encapsulation: 12) } == [frames[0], frames[1], frames[0], frames[1]])
        #expect(instance.output.session?.tooBig == 2 && instance.output.session?.key == 42)
        #expect(instance.writeErrors == 2, "each frame too big is a write error of the output")
        #expect(lab.stop() == 0)
    }
}
