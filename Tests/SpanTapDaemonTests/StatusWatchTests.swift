import Foundation
import Glibc
import SpanTapTestSupport
import Testing

/// `spantap status --watch` as an operator sees it: in a real terminal (tmux), refreshing in place
/// with per-second rates while a producer feeds spantapd.
@Suite(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct StatusWatchTests {
    /// The DELIVERED/s column of the instance's row on the screen tmux shows now (an external
    /// producer's clones count in its ring, not the instance's MIRRORED/s, and reach the output).
    static func deliveredPerSecond(_ session: String, instance: String) throws -> Int? {
        let screen = try run("tmux", "capture-pane", "-p", "-t", session)
        let lines = screen.split(separator: "\n")
        let header = lines.first { $0.hasPrefix("INSTANCE ") }?.split(separator: " ")
        let row = lines.first { $0.hasPrefix(instance + " ") }?.split(separator: " ")
        guard let header, let row, let column = header.firstIndex(of: "DELIVERED/s"), column < row.count else { return nil }
        return Int(row[column])
    }

    @Test func watchShowsLiveRatesInATerminal() throws {
        let (lab, _) = try DaemonLab.startedWithTap()
        defer { lab.cleanUp() }
        let producer = try SpawnedProcess([try ExternalProducerTests.buildProducer(), "-s", lab.socketPath, "-n", "watched",
                                           "-r", "400", "-b", "8", "-d", "6"])

        let session = uniqueName("watch")
        let spantap = DaemonLab.buildDirectory.appendingPathComponent("spantap").path
        // Not through run(): the tmux server it starts keeps any output pipe open for its lifetime.
        // And not through Foundation's Process either: its waitUntilExit was seen to miss the exit
        // of this short-lived client while other tests spawned processes, hanging the suite.
        // posix_spawn + waitpid on the client's own pid cannot miss it.
        _ = try runWithDescriptors("/usr/bin/env", ["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "40",
                                                    "\(spantap) --control-socket \(lab.socketPath) status --watch 0.5"],
                                   descriptors: [])
        defer { _ = try? run("tmux", "kill-session", "-t", session) }

        var seen: [Int] = []
        #expect(waitUntil(seconds: 5) {
            if let rate = try? Self.deliveredPerSecond(session, instance: "span1") { seen.append(rate) }
            return seen.count >= 2 && seen.last! > 200
        }, "the screen showed DELIVERED/s \(seen)")
        #expect(seen.contains { $0 > 200 && $0 < 800 }, "about 400 clones per second: \(seen)")
        producer.waitUntilExit()
        #expect(waitUntil(seconds: 3) { (try? Self.deliveredPerSecond(session, instance: "span1")) == 0 },
                "once the producer stops, the rate falls to 0")
    }
}
