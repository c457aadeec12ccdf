import Foundation
import Glibc
import SpanTapControl
import SpanTapTestSupport
import Testing

/// `spantap capture` through the real forwarder: an analyzer mirrors ingress of both ports and
/// egress of one, and the pcapng file says for every frame which port it crossed and which way,
/// with the counts the TAP got and the ISB counts status shows.
@Suite(.serialized, .enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct CaptureDaemonTests {
    init() { NamespaceLab.ensureBPFFS() }

    /// `portB`: false leaves port B out of the analyzer (only ingress of A is mirrored).
    static func config(_ hosts: NamespaceLab, tap: String, portB: Bool = true) -> String {
        let b = portB ? """
            set forwarding-options analyzer ports input ingress interface \(hosts.forwarderB)
            set forwarding-options analyzer ports input egress interface \(hosts.forwarderB)

            """ : ""
        return """
        set forwarding-options analyzer ports input ingress interface \(hosts.forwarderA)
        \(b)set forwarding-options analyzer ports input maximum-packet-length 128
        set forwarding-options analyzer ports output interface \(tap)
        set dataplane xdp-mode generic
        set dataplane cross-connect wire0 interface \(hosts.forwarderA)
        set dataplane cross-connect wire0 interface \(hosts.forwarderB)

        """
    }

    /// `spantap capture ARGS`, started in the background (through sh, so a test can pipe it);
    /// `environment`: assignments for spantap's environment (`TZ=...`).
    static func startCapture(_ lab: DaemonLab, _ arguments: String, environment: String = "") throws -> SpawnedProcess {
        let spantap = DaemonLab.buildDirectory.appendingPathComponent("spantap").path
        return try SpawnedProcess(["/bin/sh", "-c", "\(environment) exec \(spantap) --control-socket \(lab.socketPath) capture \(arguments)"],
                                  output: lab.directory.appendingPathComponent("capture.log").path)
    }

    static func tsharkRows(_ arguments: [String]) throws -> [[String]] {
        // `run` merges tshark's stderr ("running as root"): rows are the lines with fields.
        try run(["tshark"] + arguments).split(separator: "\n").filter { $0.contains("\t") }
            .map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    /// The forwarder lab with the analyzer above, neighbours pinned, spantapd started and its
    /// cross-connect up. The caller defers `lab.cleanUp()` and `hosts.teardown()`.
    static func forwarderLab(portB: Bool = true) throws -> (NamespaceLab, DaemonLab) {
        let hosts = try NamespaceLab()
        do {
            try hosts.pinNeighbours()
            let tap = uniqueName("out")
            let lab = try DaemonLab(config: config(hosts, tap: tap, portB: portB))
            lab.interfaces = [tap]
            do {
                try lab.start()
                guard waitUntil({ lab.log().contains("cross-connect started") }) else {
                    throw CommandFailure(command: ["spantapd"], status: -1, output: "no cross-connect: \(lab.log())")
                }
            } catch {
                lab.cleanUp()
                throw error
            }
            return (hosts, lab)
        } catch {
            hosts.teardown()
            throw error
        }
    }

    /// A trafgen config of one UDP frame from A to B, for steady load through the forwarder.
    static func trafgenConfig(_ lab: DaemonLab, _ hosts: NamespaceLab) throws -> String {
        let a = hosts.addressA.split(separator: ".").compactMap { UInt8($0) }
        let b = hosts.addressB.split(separator: ".").compactMap { UInt8($0) }
        let frame = IPFrames.frame(source: a, destination: b, .udp(source: 40000, destination: 5001))
        let path = lab.directory.appendingPathComponent("frame.cfg").path
        try ("{ " + frame.map { String(format: "0x%02x", $0) }.joined(separator: ", ") + " }\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func delivered(_ lab: DaemonLab) -> UInt64 { (try? lab.status().instances.first?.deliveredPackets) ?? 0 }

    /// Waits until the TAP's delivered count stops moving, and returns it.
    static func settledDelivered(_ lab: DaemonLab) -> UInt64 {
        var last = delivered(lab)
        while true {
            usleep(400_000)
            let now = delivered(lab)
            if now == last { return now }
            last = now
        }
    }

    @Test func everyFrameCarriesItsPortAndDirectionAndTheCountsAgreeWithTheTapAndStatus() throws {
        let (hosts, lab) = try Self.forwarderLab()
        defer { hosts.teardown() }
        defer { lab.cleanUp() }
        let path = lab.directory.appendingPathComponent("capture.pcapng").path

        let before = Self.settledDelivered(lab)
        let capture = try Self.startCapture(lab, "ports -w \(path)")
        defer { if capture.isRunning { kill(capture.processIdentifier, SIGKILL) } }
        #expect(waitUntil { (try? lab.status().captures?.count) == 1 })
        try hosts.inA("ping", "-c", "20", "-i", "0.05", "-s", "500", "-W", "2", hosts.addressB)
        let tapGot = Self.settledDelivered(lab) - before
        let running = try #require(try lab.status().captures?.first)
        #expect(running.pid == capture.processIdentifier && running.instances == ["ports"])
        kill(capture.processIdentifier, SIGINT)
        capture.waitUntilExit()
        #expect(capture.terminationStatus == 0)

        let rows = try Self.tsharkRows(["-r", path, "-T", "fields", "-e", "frame.interface_name", "-e", "frame.packet_flags_direction",
                                        "-e", "frame.len", "-e", "frame.cap_len", "-e", "icmp.type"])
        let inbound = "0x00000001", outbound = "0x00000002"
        #expect(UInt64(rows.count) == tapGot && tapGot == 60, "\(rows.count) frames in the file, the TAP got \(tapGot)")
        #expect(UInt64(rows.count) == running.frames && running.drops == 0, "\(running)")
        // Egress of A is not selected: nothing on A goes out.
        #expect(rows.allSatisfy { $0[0] != hosts.forwarderA || $0[1] == inbound })
        #expect(rows.allSatisfy { $0[0] == hosts.forwarderA || $0[0] == hosts.forwarderB })
        let requests = rows.filter { $0[4] == "8" }, replies = rows.filter { $0[4] == "0" }
        #expect(requests.filter { $0[0] == hosts.forwarderA && $0[1] == inbound }.count == 20)
        #expect(requests.filter { $0[0] == hosts.forwarderB && $0[1] == outbound }.count == 20)
        #expect(requests.count == 40 && replies.count == 20)
        #expect(replies.allSatisfy { $0[0] == hosts.forwarderB && $0[1] == inbound })
        // 500 bytes of ICMP payload + 8 + 20 + 14, clipped by maximum-packet-length 128.
        #expect((requests + replies).allSatisfy { $0[2] == "542" && $0[3] == "128" })

        let info = try run("capinfos", "-c", path)
        #expect(!info.lowercased().contains("warn") && info.contains("\(rows.count)"), "\(info)")
        let statistics = try PcapngStatistics.read(path: path)
        #expect(statistics.count == 2)
        // The ISBs count ring drops too (none at this rate, but a loaded machine may have some).
        #expect(statistics.reduce(0) { $0 + ($1.received ?? 0) } == running.frames + running.ringDrops)
        #expect(statistics.reduce(0) { $0 + ($1.dropped ?? 1) } == running.drops + running.ringDrops)
        #expect(statistics.reduce(0) { $0 + ($1.delivered ?? 0) } == UInt64(rows.count))
        #expect(waitUntil { (try? lab.status().captures?.isEmpty) == true }, "the capture ended with its client")
    }

    /// A line-rate burst the sink cannot keep up with: clones its bindings' rings drop for being
    /// full are the capture's losses too, in status's `ring_drops` and in the file's ISBs.
    @Test func ringDropsDuringTheCaptureAreItsLossesToo() throws {
        let (hosts, lab) = try Self.forwarderLab()
        defer { hosts.teardown() }
        defer { lab.cleanUp() }
        let path = lab.directory.appendingPathComponent("burst.pcapng").path
        let trafgenConfig = try Self.trafgenConfig(lab, hosts)
        let ringDrops = { (try? lab.status().bindings.reduce(UInt64(0)) { $0 + $1.mirrorDropsQueueFull }) ?? 0 }

        let capture = try Self.startCapture(lab, "ports -w \(path)")
        defer { if capture.isRunning { kill(capture.processIdentifier, SIGKILL) } }
        #expect(waitUntil { (try? lab.status().captures?.count) == 1 })
        let before = ringDrops()
        try hosts.inA("trafgen", "--dev", "eth0", "--conf", trafgenConfig, "-n", "100000", "--no-sock-mem", "-q")
        _ = Self.settledDelivered(lab)
        let dropped = ringDrops() - before
        let running = try #require(try lab.status().captures?.first)
        kill(capture.processIdentifier, SIGINT)
        capture.waitUntilExit()

        let counted = running.ringDrops
        #expect(dropped > 0, "the burst did not fill a ring; the test proves nothing")
        #expect(counted == dropped, "the capture counts the \(dropped) ring drops since it began: \(running)")
        let statistics = try PcapngStatistics.read(path: path)
        #expect(statistics.reduce(0) { $0 + ($1.dropped ?? 0) } == running.drops + counted)
        #expect(statistics.reduce(0) { $0 + ($1.received ?? 0) } == running.frames + counted)
        let rows = try Self.tsharkRows(["-r", path, "-T", "fields", "-e", "frame.interface_name", "-e", "frame.len"])
        #expect(UInt64(rows.count) == running.frames - running.drops, "\(rows.count) frames in the file")
    }

    /// A reload that gives the instance another output (a new TAP, so its rules carry another
    /// output id) while a capture runs: the capture follows, and has every frame of both halves.
    @Test func aCaptureFollowsItsInstanceThroughAReload() throws {
        let (hosts, lab) = try Self.forwarderLab()
        defer { hosts.teardown() }
        defer { lab.cleanUp() }
        let path = lab.directory.appendingPathComponent("reload.pcapng").path
        let capture = try Self.startCapture(lab, "ports -w \(path)")
        defer { if capture.isRunning { kill(capture.processIdentifier, SIGKILL) } }
        #expect(waitUntil { (try? lab.status().captures?.count) == 1 })
        try hosts.inA("ping", "-c", "10", "-i", "0.05", "-W", "2", hosts.addressB)
        let moved = uniqueName("mov")
        lab.interfaces.append(moved)
        try lab.writeConfig(Self.config(hosts, tap: moved))
        let reload = try lab.send(.reload)
        #expect(reload.ok, "\(reload.error ?? "")")
        try hosts.inA("ping", "-c", "10", "-i", "0.05", "-W", "2", hosts.addressB)
        _ = Self.settledDelivered(lab)
        kill(capture.processIdentifier, SIGINT)
        capture.waitUntilExit()
        #expect(capture.terminationStatus == 0)
        let rows = try Self.tsharkRows(["-r", path, "-T", "fields", "-e", "frame.interface_name", "-e", "icmp.type"])
        // Per ping: the request in on A and out on B, the reply in on B.
        #expect(rows.count == 60 && rows.filter { $0[1] == "8" }.count == 40, "\(rows.count) frames: both halves captured")
        #expect(try lab.status().instances.first?.output.interface == moved)
    }

    /// A reload that adds port B to the captured instance: spantapd announces B to the client,
    /// which writes B's Interface Description Block mid-file, and B's frames are in the file under
    /// B's name, counted in B's own statistics block; a file `-G` opens afterwards starts with
    /// both IDBs.
    @Test func aPortAReloadAddsJoinsTheRunningCaptureAsAnInterfaceOfItsOwn() throws {
        let (hosts, lab) = try Self.forwarderLab(portB: false)
        defer { hosts.teardown() }
        defer { lab.cleanUp() }
        let path = lab.directory.appendingPathComponent("added.pcapng").path
        let capture = try Self.startCapture(lab, "ports -w \(path)")
        defer { if capture.isRunning { kill(capture.processIdentifier, SIGKILL) } }
        let rotated = lab.directory.appendingPathComponent("rotated-%s.pcapng").path
        let rotating = try Self.startCapture(lab, "ports -w \(rotated) -G 1")
        defer { if rotating.isRunning { kill(rotating.processIdentifier, SIGKILL) } }
        #expect(waitUntil { (try? lab.status().captures?.count) == 2 })
        #expect(try lab.status().captures?.first?.interfaces.map(\.name) == [hosts.forwarderA])
        try hosts.inA("ping", "-c", "10", "-i", "0.05", "-W", "2", hosts.addressB)
        try lab.writeConfig(Self.config(hosts, tap: lab.interfaces[0]))
        let reload = try lab.send(.reload)
        #expect(reload.ok, "\(reload.error ?? "")")
        usleep(1_200_000) // the rotating capture opens a file after the announcement
        try hosts.inA("ping", "-c", "10", "-i", "0.05", "-W", "2", hosts.addressB)
        _ = Self.settledDelivered(lab)
        let running = try #require(try lab.status().captures?.first { $0.pid == capture.processIdentifier })
        for client in [capture, rotating] {
            kill(client.processIdentifier, SIGINT)
            client.waitUntilExit()
            #expect(client.terminationStatus == 0)
        }

        #expect(running.interfaces.map(\.name) == [hosts.forwarderA, hosts.forwarderB], "status lists the added port: \(running)")
        let rows = try Self.tsharkRows(["-r", path, "-T", "fields", "-e", "frame.interface_name", "-e", "icmp.type"])
        // Before: 10 requests in on A. After: requests in on A and out on B, replies in on B.
        #expect(rows.count == 40, "\(rows.count) frames")
        #expect(rows.prefix(10).allSatisfy { $0[0] == hosts.forwarderA } && rows.filter { $0[0] == hosts.forwarderB }.count == 20,
                "B's frames only after the reload, under B's own name: \(rows.map { $0[0] })")
        let info = try run("capinfos", "-c", "-I", path)
        #expect(!info.lowercased().contains("warn") && info.contains("Number of interfaces in file: 2"), "\(info)")
        let statistics = try PcapngStatistics.read(path: path)
        #expect(statistics.count == 2 && statistics.map { $0.delivered ?? 0 } == [20, 20], "one ISB per interface, each its own frames")
        #expect(statistics.reduce(0) { $0 + ($1.received ?? 0) } == running.frames + running.ringDrops)
        #expect(lab.log().contains("capture follows its instances onto another interface"))

        let files = try FileManager.default.contentsOfDirectory(atPath: lab.directory.path).filter { $0.hasPrefix("rotated-") }.sorted()
            .map { lab.directory.appendingPathComponent($0).path }
        let perFile = try files.map { try Self.tsharkRows(["-r", $0, "-T", "fields", "-e", "frame.interface_name", "-e", "icmp.type"]) }
        // The same frames (in another order: two sink workers interleave the ports' copies per client).
        #expect(files.count >= 2 && perFile.joined().map { $0.joined() }.sorted() == rows.map { $0.joined() }.sorted(),
                "the rotated files hold the same frames: \(files)")
        let withB = zip(files, perFile).filter { $0.1.contains { $0[0] == hosts.forwarderB } }.map(\.0)
        #expect(!withB.isEmpty)
        for file in withB {
            // Opened after the announcement (the pause above): both IDBs come from its header.
            let info = try run("capinfos", "-c", "-I", file)
            #expect(info.contains("Number of interfaces in file: 2"), "\(info)")
        }
    }

    /// The captured port deleted and created again under its name while an external producer
    /// feeds it: the new port (new ifindex) joins the capture as an interface of its own with
    /// the same name, each of the two IDBs holds its own frames and its own statistics block, and
    /// the statistics add up to what status counted.
    @Test func aPortCreatedAgainUnderItsNameJoinsTheCaptureAsAnotherInterface() throws {
        let setup = try LiveRulesTests.TwoOutputs()
        let lab = setup.lab
        defer { lab.cleanUp() }
        let path = lab.directory.appendingPathComponent("again.pcapng").path
        let capture = try Self.startCapture(lab, "a -w \(path)")
        defer { if capture.isRunning { kill(capture.processIdentifier, SIGKILL) } }
        #expect(waitUntil { (try? lab.status().captures?.count) == 1 })
        let framesNow = { (try? lab.status().captures?.first?.frames) ?? 0 }
        let producer = try setup.startProducer(on: setup.ingressX, seconds: 8)
        defer { producer.signal(SIGKILL) }
        #expect(waitUntil { framesNow() >= 100 }, "frames of the first port reach the capture")
        let first = try #require(ifindex(of: setup.ingressX))

        try run("ip", "link", "del", setup.ingressX)
        let beforeRecreation = framesNow()
        try run("ip", "link", "add", setup.ingressX, "type", "veth", "peer", "name", setup.ingressX + "p")
        let second = try #require(ifindex(of: setup.ingressX))
        #expect(second != first)
        #expect(waitUntil { framesNow() >= beforeRecreation + 100 }, "frames of the new port reach the capture")
        producer.waitUntilExit()
        let running = try #require(try lab.status().captures?.first)
        kill(capture.processIdentifier, SIGINT)
        capture.waitUntilExit()
        #expect(capture.terminationStatus == 0)

        #expect(running.interfaces.map(\.name) == [setup.ingressX, setup.ingressX], "\(running)")
        #expect(running.interfaces.map(\.ifindex) == [UInt32(first), UInt32(second)])
        let rows = try Self.tsharkRows(["-r", path, "-T", "fields", "-e", "frame.interface_id", "-e", "frame.interface_name"])
        let onFirst = rows.filter { $0[0] == "0" }.count, onSecond = rows.filter { $0[0] == "1" }.count
        #expect(rows.allSatisfy { $0[1] == setup.ingressX } && onFirst > 0 && onSecond > 0 && onFirst + onSecond == rows.count,
                "every frame under one of the two IDBs named \(setup.ingressX): \(onFirst) + \(onSecond) of \(rows.count)")
        #expect(rows.map(\.[0]) == rows.map(\.[0]).sorted(), "the old port's frames all come before the new one's")
        let info = try run("capinfos", "-c", "-I", path)
        #expect(!info.lowercased().contains("warn") && info.contains("Number of interfaces in file: 2"), "\(info)")
        let statistics = try PcapngStatistics.read(path: path)
        #expect(statistics.map(\.interface) == [0, 1] && statistics.map { $0.delivered ?? 0 } == [UInt64(onFirst), UInt64(onSecond)],
                "one ISB per interface, each its own frames: \(statistics)")
        #expect(statistics.reduce(0) { $0 + ($1.received ?? 0) } == running.frames + running.ringDrops)
    }

    /// `-c 100` twice at once: one streamed into `tshark -r -`, one into a file; both end with
    /// exactly 100 frames while more keep coming.
    @Test func countEndsWithExactlyThatManyFramesStreamedAndInAFile() throws {
        let (hosts, lab) = try Self.forwarderLab()
        defer { hosts.teardown() }
        defer { lab.cleanUp() }
        let path = lab.directory.appendingPathComponent("hundred.pcapng").path
        let streamed = lab.directory.appendingPathComponent("streamed.txt").path

        let file = try Self.startCapture(lab, "-c 100 -w \(path)")
        let stream = try Self.startCapture(lab, "ports -c 100 -w - | tshark -r - -T fields -e frame.interface_name > \(streamed) 2>/dev/null")
        defer { [file, stream].filter(\.isRunning).forEach { kill($0.processIdentifier, SIGKILL) } }
        #expect(waitUntil { (try? lab.status().captures?.count) == 2 })
        try hosts.inA("ping", "-c", "60", "-i", "0.01", "-W", "2", hosts.addressB)
        #expect(waitUntil(seconds: 10) { !file.isRunning && !stream.isRunning })

        let names = try String(contentsOfFile: streamed, encoding: .utf8).split(separator: "\n")
        #expect(names.count == 100 && names.allSatisfy { $0 == hosts.forwarderA || $0 == hosts.forwarderB })
        let rows = try Self.tsharkRows(["-r", path, "-T", "fields", "-e", "frame.interface_name", "-e", "frame.len"])
        #expect(rows.count == 100)
        #expect(try run("capinfos", "-c", path).contains("100"))
        #expect(PcapngStatistics.read(Array(try Data(contentsOf: URL(fileURLWithPath: path)))).reduce(0) { $0 + ($1.delivered ?? 0) } == 100)
    }

    /// A client stopped with SIGSTOP while 30000 frames arrive at 20 kpps drops its own copies
    /// (counted in status and in its ISBs) and the TAP still gets every frame.
    @Test func aStoppedClientDropsOnlyItsOwnCopies() throws {
        let (hosts, lab) = try Self.forwarderLab()
        defer { hosts.teardown() }
        defer { lab.cleanUp() }
        let path = lab.directory.appendingPathComponent("stopped.pcapng").path
        let trafgenConfig = try Self.trafgenConfig(lab, hosts)

        let before = Self.settledDelivered(lab)
        let capture = try Self.startCapture(lab, "ports -w \(path)")
        defer { if capture.isRunning { kill(capture.processIdentifier, SIGKILL) } }
        #expect(waitUntil { (try? lab.status().captures?.count) == 1 })
        kill(capture.processIdentifier, SIGSTOP)
        // 50 us apart: a steady 20 kpps for 1.5 s, each frame mirrored on A's ingress and B's egress.
        try hosts.inA("trafgen", "--dev", "eth0", "--conf", trafgenConfig, "-n", "30000", "-t", "50us", "--no-sock-mem", "-q")
        let tapGot = Self.settledDelivered(lab) - before
        usleep(500_000)
        kill(capture.processIdentifier, SIGCONT)
        let running = try #require(try lab.status().captures?.first)
        kill(capture.processIdentifier, SIGINT)
        capture.waitUntilExit()

        // Clones a full ring dropped (a loaded machine starves the sink) reached neither the TAP
        // nor the client; everything else reached the TAP, and the client lost only its own.
        #expect(tapGot + running.ringDrops == 60_000, "the TAP got \(tapGot) of 60000, \(running.ringDrops) lost at the rings")
        #expect(running.frames + running.ringDrops == 60_000 && running.drops > 0, "\(running)")
        let statistics = try PcapngStatistics.read(path: path)
        #expect(statistics.reduce(0) { $0 + ($1.dropped ?? 0) } == running.drops + running.ringDrops)
        #expect(statistics.reduce(0) { $0 + ($1.received ?? 0) } == running.frames + running.ringDrops)
        let rows = try Self.tsharkRows(["-r", path, "-T", "fields", "-e", "frame.interface_name", "-e", "frame.len"])
        #expect(UInt64(rows.count) == running.frames - running.drops, "\(rows.count) frames in the file")
    }

    /// `--duration` ends the capture by itself with a complete file (SHB, IDB, ISB, no frames).
    @Test func durationEndsWithAValidFile() throws {
        let (lab, _) = try DaemonLab.startedWithTap()
        defer { lab.cleanUp() }
        let path = lab.directory.appendingPathComponent("quiet.pcapng").path
        let started = monotonicSeconds()
        let capture = try Self.startCapture(lab, "span1 --duration 1 -w \(path)")
        defer { if capture.isRunning { kill(capture.processIdentifier, SIGKILL) } }
        capture.waitUntilExit()
        let took = monotonicSeconds() - started
        #expect(capture.terminationStatus == 0 && took >= 1 && took < 5, "exit \(capture.terminationStatus) after \(took) s")
        let info = try run("capinfos", "-I", path)
        #expect(info.contains("Number of packets = 0") && info.contains("Number of stat entries = 1"), "\(info)")
        #expect(try PcapngStatistics.read(path: path).map(\.received) == [0])
    }

    /// One rotated file on its own: what capinfos and tshark count in it (they must agree, without
    /// warnings) and its ISBs.
    static func rotatedFile(_ path: String) throws -> (frames: Int, statistics: [PcapngStatistics]) {
        let info = try run("capinfos", "-c", "-M", path)
        let counted = info.split(separator: "\n").first { $0.hasPrefix("Number of packets") }
            .flatMap { Int($0.split(separator: " ").last ?? "") }
        let rows = try tsharkRows(["-r", path, "-T", "fields", "-e", "frame.interface_name", "-e", "frame.len"])
        #expect(!info.lowercased().contains("warn") && counted == rows.count, "\(path): \(info)")
        return (rows.count, try PcapngStatistics.read(path: path))
    }

    /// The rotated files in `directory` whose names begin with `prefix`, sorted.
    static func files(in directory: String, prefix: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// spantap's closing line on stderr: "spantap: N frames written (...), M selected ...".
    static func writtenCount(log: String) throws -> Int? {
        let line = try String(contentsOfFile: log, encoding: .utf8)
        guard let range = line.range(of: "spantap: ") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }

    /// `-C 1` while 60000 frames (over 6 MB of pcapng) cross: FILE, FILE1, FILE2, ... as tcpdump
    /// names them, none over 1,000,000 bytes, each read by capinfos and tshark on its own, and
    /// together every frame not dropped, with ISBs that add up to status's counts (drops in the
    /// last file only). A `-C 1 -W 3` capture of the same frames keeps FILE0..FILE2, reused.
    @Test func sizeRotationMakesCompleteFilesWithTcpdumpsNamesThatAddUp() throws {
        let (hosts, lab) = try Self.forwarderLab()
        defer { hosts.teardown() }
        defer { lab.cleanUp() }
        let directory = lab.directory.appendingPathComponent("rotated").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let trafgenConfig = try Self.trafgenConfig(lab, hosts)

        let linear = try Self.startCapture(lab, "ports -C 1 -w \(directory)/cap.pcapng 2>\(lab.directory.path)/cap.log")
        let ring = try Self.startCapture(lab, "ports -C 1 -W 3 -w \(directory)/ring.pcapng 2>/dev/null")
        defer { [linear, ring].filter(\.isRunning).forEach { kill($0.processIdentifier, SIGKILL) } }
        #expect(waitUntil { (try? lab.status().captures?.count) == 2 })
        try hosts.inA("trafgen", "--dev", "eth0", "--conf", trafgenConfig, "-n", "30000", "-t", "50us", "--no-sock-mem", "-q")
        // Until the sink is done with them; on a loaded machine the ring may drop a few before it
        // (mirror_drops_queue_full), which changes how many files there are, not what they hold.
        _ = Self.settledDelivered(lab)
        let running = try #require(try lab.status().captures?.first { $0.pid == linear.processIdentifier })
        for capture in [linear, ring] { kill(capture.processIdentifier, SIGINT) }
        for capture in [linear, ring] { capture.waitUntilExit() }
        #expect(linear.terminationStatus == 0 && ring.terminationStatus == 0)

        let names = try Self.files(in: directory, prefix: "cap.pcapng")
        #expect(names.count >= 3 && Set(names) == Set(["cap.pcapng"] + (1..<names.count).map { "cap.pcapng\($0)" }), "\(names)")
        let ordered = ["cap.pcapng"] + (1..<max(1, names.count)).map { "cap.pcapng\($0)" }
        var frames = 0, statistics: [[PcapngStatistics]] = []
        for name in ordered {
            let path = "\(directory)/\(name)"
            let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            #expect(size <= 1_000_000, "\(name): \(size) bytes")
            let file = try Self.rotatedFile(path)
            frames += file.frames
            statistics.append(file.statistics)
        }
        #expect(UInt64(frames) == running.frames - running.drops && frames > 0, "\(frames) frames in the files, \(running)")
        #expect(try Self.writtenCount(log: "\(lab.directory.path)/cap.log") == frames)
        #expect(statistics.allSatisfy { $0.count == 2 })
        #expect(statistics.dropLast().joined().allSatisfy { $0.dropped == nil && $0.received == $0.delivered },
                "a file closed by rotation counts what it holds and claims no drops")
        // The last file's ISBs carry the capture's losses: its client's and the rings' (a loaded
        // machine drops some of 60000 frames at the ring).
        #expect(statistics.last?.reduce(0) { $0 + ($1.dropped ?? 1) } == running.drops + running.ringDrops)
        #expect(statistics.joined().reduce(0) { $0 + ($1.received ?? 0) } == running.frames + running.ringDrops)
        #expect(statistics.joined().reduce(0) { $0 + ($1.delivered ?? 0) } == UInt64(frames))

        #expect(try Self.files(in: directory, prefix: "ring.pcapng") == ["ring.pcapng0", "ring.pcapng1", "ring.pcapng2"])
        for name in try Self.files(in: directory, prefix: "ring.pcapng") {
            let path = "\(directory)/\(name)"
            #expect(try Self.rotatedFile(path).frames > 0)
            #expect(try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) <= 1_000_000)
        }
    }

    /// `-G 1 -W 3 -w g-%Y%m%d-%H%M%S.pcapng` while pings cross: three files, each named by the
    /// local second it began in (TZ=Asia/Kolkata; checked against Foundation's formatter), a second
    /// apart, each complete; the capture stops by itself after the third, as tcpdump's -G -W does.
    @Test func timeRotationNamesFilesByTheirLocalSecondAndStopsAfterTheFileLimit() throws {
        let (hosts, lab) = try Self.forwarderLab()
        defer { hosts.teardown() }
        defer { lab.cleanUp() }
        let directory = lab.directory.appendingPathComponent("timed").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let log = "\(lab.directory.path)/timed.log"

        let started = time(nil)
        // A zone with a half-hour offset, so a name in UTC or in the test's zone would not pass.
        let zone = "Asia/Kolkata"
        let capture = try Self.startCapture(lab, "ports -G 1 -W 3 -w '\(directory)/g-%Y%m%d-%H%M%S.pcapng' 2>\(log)", environment: "TZ=\(zone)")
        defer { if capture.isRunning { kill(capture.processIdentifier, SIGKILL) } }
        #expect(waitUntil { (try? lab.status().captures?.count) == 1 })
        try hosts.inA("ping", "-c", "60", "-i", "0.05", "-W", "2", hosts.addressB)
        #expect(waitUntil(seconds: 10) { !capture.isRunning }, "-W 3 ends the capture")
        capture.waitUntilExit()
        #expect(capture.terminationStatus == 0)
        let ended = time(nil)

        let names = try Self.files(in: directory, prefix: "g-")
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: zone)
        formatter.dateFormat = "'g-'yyyyMMdd-HHmmss'.pcapng'"
        let seconds = names.map { name in
            (started...ended).first { formatter.string(from: Date(timeIntervalSince1970: TimeInterval($0))) == name }
        }
        #expect(names.count == 3 && seconds.allSatisfy { $0 != nil }, "\(names) for \(started)...\(ended)")
        let known = seconds.compactMap { $0 }
        #expect(zip(known, known.dropFirst()).allSatisfy { $1 - $0 >= 1 }, "\(names)")
        var frames = 0, statistics: [[PcapngStatistics]] = []
        for name in names {
            let file = try Self.rotatedFile("\(directory)/\(name)")
            frames += file.frames
            statistics.append(file.statistics)
        }
        let written = try Self.writtenCount(log: log)
        #expect(frames > 0 && written == frames, "\(frames) frames in the files, \(written.map(String.init) ?? "no count") written")
        #expect(try String(contentsOfFile: log, encoding: .utf8).contains("stopped after -W 3 files"))
        #expect(statistics.dropLast().joined().allSatisfy { $0.dropped == nil })
        #expect(statistics.last?.allSatisfy { $0.dropped != nil } == true)
    }

    /// -C, -G and -W refused where they cannot work, before spantap asks spantapd for anything.
    @Test func rotationOptionsAreRefusedWithStandardOutputAndWithoutSizeOrTime() throws {
        let spantap = DaemonLab.buildDirectory.appendingPathComponent("spantap").path
        let refusals: [([String], String)] = [
            (["-w", "-", "-C", "1"], "cannot be used with -w - (standard output)"),
            (["-w", "-", "-G", "1"], "cannot be used with -w - (standard output)"),
            (["-w", "x", "-W", "2"], "-W needs -C or -G"),
            (["-w", "x", "-C", "0.5"], "-C wants a positive whole number of megabytes"),
            (["-w", "x", "-C", "0"], "-C wants a positive whole number of megabytes"),
            (["-w", "x", "-G", "1.5"], "-G wants a positive whole number of seconds"),
            (["-w", "x", "-G", "1", "-W", "0"], "-W wants a positive whole number of files"),
        ]
        for (arguments, message) in refusals {
            let output: String
            do {
                output = try run([spantap, "--control-socket", "/nonexistent", "capture"] + arguments)
            } catch let failure as CommandFailure {
                output = failure.output
            }
            #expect(output.contains(message), "\(arguments): \(output)")
        }
    }

    @Test func moreCapturesThanTheLimitAreRefusedAndAGoneClientEndsItsCapture() throws {
        let (lab, _) = try DaemonLab.startedWithTap(extraArguments: ["--max-captures", "1"])
        defer { lab.cleanUp() }
        var first: ControlClient? = try ControlClient(path: lab.socketPath)
        let (granted, descriptors) = try #require(first).send(.capture(CaptureRequest()))
        #expect(granted.ok && granted.capture?.interfaces.count == 1 && descriptors.count == 1, "\(granted)")
        descriptors.forEach { try? $0.close() }
        let refused = try ControlClient(path: lab.socketPath).send(.capture(CaptureRequest())).0
        #expect(refused.ok == false && refused.error?.contains("the limit (spantapd --max-captures) is 1") == true, "\(refused)")
        let unknown = try ControlClient(path: lab.socketPath).send(.capture(CaptureRequest(instances: ["nope"]))).0
        #expect(unknown.error?.contains("no mirror instance named 'nope'") == true, "\(unknown)")
        #expect(try lab.status().captures?.count == 1)
        first = nil
        #expect(waitUntil { (try? lab.status().captures?.isEmpty) == true }, "closing the connection ends the capture")
        let again = try ControlClient(path: lab.socketPath)
        #expect(try again.send(.capture(CaptureRequest())).0.ok)
        #expect(try again.send(.captureStop).0.capture?.frames == 0)
    }
}
