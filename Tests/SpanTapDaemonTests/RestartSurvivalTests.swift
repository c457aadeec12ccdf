import Foundation
import Glibc
import SpanTapControl
import SpanTapTestSupport
import Testing

/// Invariant 6: a restart of spantapd, clean or not, never needs a restart of the forwarder. The C
/// example producer (spantap_session.h) stays up while the release spantapd is killed or stopped
/// and started again, and comes back by itself.
@Suite(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)), .serialized)
struct RestartSurvivalTests {
    /// The example producer running in the background, its per-second lines in a file.
    final class RunningProducer {
        let process: SpawnedProcess
        let output: URL

        init(lab: DaemonLab, name: String, arguments: [String]) throws {
            output = lab.directory.appendingPathComponent("\(name).txt")
            process = try SpawnedProcess([try ExternalProducerTests.buildProducer(), "-s", lab.socketPath, "-n", name] + arguments,
                                         output: output.path)
        }

        var text: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

        /// The `offered=` figure of every per-second line so far.
        var offeredPerSecond: [Int] {
            text.split(separator: "\n").filter { $0.hasPrefix("offered=") }.compactMap { line in
                line.split(separator: " ").first.flatMap { Int($0.dropFirst("offered=".count)) }
            }
        }

        var openDescriptors: Int {
            (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(process.processIdentifier)/fd").count) ?? -1
        }
    }

    /// Frames of the example producer (EtherType 0x88b5) among those captured.
    static func producerFrames(_ frames: [[UInt8]]) -> [[UInt8]] {
        frames.filter { $0.count >= 22 && $0[12] == 0x88 && $0[13] == 0xb5 }
    }

    /// SIGKILL (a crash: nothing retired, the producer sees the hang-up) and SIGTERM (a clean stop:
    /// the ring retired first). Either way: frames on the TAP again within 2 s of the new
    /// spantapd's readiness, the producer listed with one re-attach, and the forwarding loop never
    /// held up (every second it offered at least 90 % of its 1000 frames).
    @Test(arguments: [SIGKILL, SIGTERM])
    func theProducerComesBackByItselfAfterARestart(signal: Int32) throws {
        let (lab, tap) = try DaemonLab.startedWithTap()
        defer { lab.cleanUp() }
        let producer = try RunningProducer(lab: lab, name: "survivor", arguments: ["-r", "1000", "-b", "10", "-d", "9", "-l", "100"])
        #expect(waitUntil { (try? lab.status().producers.first?.reattaches) == 0 }, "first attach: \(producer.text)")
        let before = try PcapCapture(namespace: nil, interface: tap, direction: "in")
        usleep(1_000_000)
        #expect(Self.producerFrames(try before.stop()).count > 500, "tcpdump sees the producer's frames before the restart")

        #expect(lab.stop(signal: signal) != nil, "spantapd exits on signal \(signal)")
        usleep(500_000) // the producer runs on, detached
        try lab.start()
        let ready = monotonicSeconds()
        let capture = try PacketCapture(ifindex: try #require(ifindex(of: tap)))
        let tcpdump = try PcapCapture(namespace: nil, interface: tap, direction: "in")
        var first: [UInt8]?
        while first == nil, monotonicSeconds() - ready < 3, let frame = capture.next(timeoutMilliseconds: 3000) {
            if !Self.producerFrames([frame]).isEmpty { first = frame }
        }
        let back = monotonicSeconds() - ready
        #expect(first != nil && back < 2, "frames on the TAP again \(Int(back * 1000)) ms after readiness")
        let status = try lab.status()
        #expect(status.producers.map(\.name) == ["survivor"] && status.producers.first?.reattaches == 1,
                "status after the restart: \(status.producers)")
        usleep(2_000_000)
        #expect(Self.producerFrames(try tcpdump.stop()).count > 1000, "tcpdump on the new spantapd's TAP sees the frames")

        process(producer.process, exitsWithin: 10)
        let offered = producer.offeredPerSecond
        #expect(offered.count >= 7 && offered.allSatisfy { $0 >= 900 },
                "offered per second never below 90 % of 1000: \(offered)\n\(producer.text)")
        let detached = producer.text.split(whereSeparator: \.isWhitespace).last { $0.hasPrefix("drops_detached=") }
        #expect(detached.flatMap { Int($0.dropFirst("drops_detached=".count)) }.map { $0 > 0 } == true,
                "the producer counted the clones it could not hand over while detached: \(producer.text)")
    }

    /// 20 restarts, SIGTERM and SIGKILL in turn, 4 producers: all 4 back after each, with the
    /// re-attach count growing by one; spantapd holds the same descriptors every time, and the
    /// producers leak none either.
    @Test func fourProducersSurviveTwentyRestarts() throws {
        let (lab, _) = try DaemonLab.startedWithTap()
        defer { lab.cleanUp() }
        let names = (0..<4).map { "p\($0)" }
        let producers = try names.map { try RunningProducer(lab: lab, name: $0, arguments: ["-r", "200", "-b", "4", "-d", "600"]) }
        func allBack(reattaches: Int) -> Bool {
            guard let listed = try? lab.status().producers else { return false }
            return listed.map(\.name) == names && listed.allSatisfy { $0.reattaches == reattaches }
        }
        #expect(waitUntil(seconds: 10) { allBack(reattaches: 0) })
        let producerDescriptors = producers.map(\.openDescriptors)
        var daemonDescriptors: [Int] = []
        for cycle in 1...20 {
            #expect(lab.stop(signal: cycle % 2 == 0 ? SIGKILL : SIGTERM) != nil)
            try lab.start()
            let back = waitUntil(seconds: 5) { allBack(reattaches: cycle) }
            #expect(back, "cycle \(cycle): \((try? lab.status().producers.map { "\($0.name):\($0.reattaches)" }) ?? [])")
            guard back else { break }
            daemonDescriptors.append(try lab.settledDescriptors())
        }
        #expect(daemonDescriptors.count == 20 && Set(daemonDescriptors).count == 1, "spantapd's descriptors per cycle: \(daemonDescriptors)")
        #expect(producers.map(\.openDescriptors) == producerDescriptors, "each producer holds what it held after its first attach")
        #expect(producers.allSatisfy { $0.process.isRunning })
    }

    /// Waits for `process` to exit by itself (at most `seconds`).
    func process(_ process: SpawnedProcess, exitsWithin seconds: Double) {
        #expect(waitUntil(seconds: seconds) { !process.isRunning }, "the producer finishes its run")
    }
}
