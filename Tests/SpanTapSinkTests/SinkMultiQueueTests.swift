import Foundation
import Glibc
import SpanTapLink
import SpanTapRing
import SpanTapSink
import SpanTapTestSupport
import SystemPackage
import Testing

/// A multi-queue TAP with one sink worker per queue: each worker owns one ring and one queue fd,
/// so each ring's frames arrive on its own queue, all of them, in ring order; and a capture on
/// the TAP (tcpdump -i) sees every frame once.
@Suite(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct SinkMultiQueueTests {
    @Test(arguments: [true, false]) func everyQueueDeliversItsRingsFramesOnce(ioUring: Bool) throws {
        let name = uniqueName("mq")
        defer { removeLinkIfPresent(name) }
        let tap = try TapOutput.create(name: name, configuration: TapConfiguration(mtu: 1500, queues: 2), control: LinkControl())
        defer { try? tap.remove() }
        #expect(tap.fds.count == 2)
        #expect(try run("ip", "-d", "link", "show", name).contains("multi_queue"))

        // One capture per rx queue (the queue a frame was written to), and tcpdump on the TAP.
        let group = UInt16.random(in: 1...UInt16.max)
        let perQueue = try (0..<2).map { _ in try PacketCapture(ifindex: tap.ifindex) }
        for capture in perQueue { try capture.joinQueueFanout(group: group) }
        let pcap = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).pcap")
        defer { try? FileManager.default.removeItem(at: pcap) }
        let tcpdump = try Tcpdump(interface: name, file: pcap.path)
        defer { tcpdump.terminate() }

        let sink = SinkService(workers: 2, ioUring: ioUring)
        try #require(sink.writeMethod == (ioUring ? .ioUring : .write))
        let output = SinkOutput(id: 0, name: name, descriptors: tap.fds)
        sink.addOutput(output)
        defer { sink.removeOutput(id: 0) }
        let perRing = 3000
        let rings = try (0..<2).map { _ in
            try HandoffRing.create(name: "sink-mq", geometry: RingGeometry(slotCount: 4096, maximumFrameLength: 1518))
        }
        for (index, ring) in rings.enumerated() {
            var producer = ring.makeProducer()
            for sequence in 0..<perRing {
                var frame = EthernetFrames.ipv4(total: 128)
                frame[14] = UInt8(index)
                frame[15] = UInt8(sequence >> 8)
                frame[16] = UInt8(sequence & 0xff)
                #expect(frame.withUnsafeBytes { producer.tryEnqueue($0, rule: RingRule(ifindex: 2, outputID: 0)) } == .enqueued)
            }
        }
        // The first ring goes to worker 0, the second to worker 1: each to its own queue fd.
        for ring in rings { sink.attach(ring) }
        defer { for ring in rings { sink.detach(ring) } }
        #expect(waitUntil { output.counters.deliveredPackets == UInt64(2 * perRing) })

        // Which queue index the kernel gives each fd is its business; what matters is that each
        // queue carried exactly one ring's frames, all of them, in ring order.
        var ringsSeen: Set<UInt8> = []
        for (queue, capture) in perQueue.enumerated() {
            let frames = capture.drain()
            #expect(frames.count == perRing, "queue \(queue)")
            let ring = frames.first?[14] ?? 0xff
            ringsSeen.insert(ring)
            #expect(frames.allSatisfy { $0[14] == ring }, "queue \(queue) carries one ring's frames only")
            let sequences = frames.map { Int($0[15]) << 8 | Int($0[16]) }
            #expect(sequences == Array(0..<perRing), "queue \(queue): ring order, every frame once")
        }
        #expect(ringsSeen == [0, 1])
        // pcap file header, then per frame a 16-byte record header and the frame.
        #expect(tcpdump.stop(afterFileHolds: 24 + 2 * perRing * (16 + 128)) == 2 * perRing, "tcpdump -i sees every frame once")
    }
}

/// `tcpdump -i IF -w FILE` as a child process (posix_spawn and waitpid: nothing else reaps it);
/// `stop` interrupts it and returns what it said it captured. Not --immediate-mode: its ring
/// blocks are then handed over nearly empty, and a burst of a few thousand frames overruns them
/// (measured: a third of 6000 dropped by the kernel); `stop` waits for the file instead.
final class Tcpdump {
    private var pid: pid_t = 0
    private let file: String
    private let log: String

    init(interface: String, file: String) throws {
        self.file = file
        log = file + ".log"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let arguments = ["tcpdump", "-i", interface, "-w", file, "-U", "-B", "16384"]
        var argv = arguments.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        // The test runner blocks SIGINT, and a spawned child inherits the mask: unblock it there,
        // or tcpdump never stops.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), interrupt = sigset_t()
        sigemptyset(&none)
        sigemptyset(&interrupt)
        sigaddset(&interrupt, SIGINT)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &interrupt)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let status = posix_spawnp(&pid, "tcpdump", &actions, &attributes, &argv, environ)
        guard status == 0 else { throw Errno(rawValue: status) }
        guard waitUntil(seconds: 10, { said().contains("listening on") }) else {
            let output = said()
            terminate()
            throw TcpdumpError.notListening(output)
        }
    }

    deinit { terminate() }

    private func said() -> String {
        (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    }

    /// Frames tcpdump captured ("N packets captured"), or -1 if it did not say. Waits (up to 5 s)
    /// for its file to hold `bytes` first: an interrupted tcpdump stops at once, and frames
    /// still in its socket buffer would not count as captured.
    func stop(afterFileHolds bytes: Int) -> Int {
        guard pid > 0 else { return -1 }
        _ = waitUntil { ((try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0) >= bytes }
        kill(pid, SIGINT)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        pid = 0
        let line = said().split(separator: "\n").first { $0.hasSuffix("packets captured") }
        unlink(log)
        return line.flatMap { Int($0.split(separator: " ")[0]) } ?? -1
    }

    func terminate() {
        guard pid > 0 else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        pid = 0
        unlink(log)
    }

    enum TcpdumpError: Error { case notListening(String) }
}
