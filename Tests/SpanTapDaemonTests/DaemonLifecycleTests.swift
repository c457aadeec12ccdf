import Foundation
import Glibc
import SpanTapControl
import SpanTapTestSupport
import Testing

/// spantapd as an operator runs it: start, signals, crashes, links deleted behind its back.
@Suite(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct DaemonLifecycleTests {
    @Test func sigtermRemovesOwnedTapAndSocketWithinFiveSeconds() throws {
        let (lab, tap) = try DaemonLab.startedWithTap()
        defer { lab.cleanUp() }
        #expect(ifindex(of: tap) != nil)
        let status = try lab.status()
        let output = try #require(status.instances.first?.output)
        #expect(output.interface == tap && output.ifindex == ifindex(of: tap) ?? -1 && output.kind == "tap", "\(output)")
        #expect(output.latency?.samples == 0, "nothing delivered yet: an empty latency histogram")

        #expect(lab.stop(signal: SIGTERM, seconds: 5) == 0, "spantapd must exit 0 within 5 s of SIGTERM: \(lab.log())")
        #expect(ifindex(of: tap) == nil, "the TAP spantapd created must be gone")
        #expect(access(lab.socketPath, F_OK) != 0, "the control socket must be removed")
    }

    /// SIGTERM drains producers' rings into the outputs (README): frames an external producer
    /// published without waking the sleeping sink sit in its ring until shutdown, and must still
    /// reach the (persistent, so it outlives spantapd) TAP before spantapd exits.
    @Test func sigtermDrainsProducersRingsIntoTheOutputs() throws {
        let hostile = try HostileProducerTests.hostile()
        let tap = uniqueName("out"), ingress = try DaemonLab.makeIngress()
        let lab = try DaemonLab(config: DaemonLab.config(ingress: [ingress], output: tap, persistent: true))
        lab.interfaces = [tap, ingress]
        defer { lab.cleanUp() }
        try lab.start()
        let capture = try PacketCapture(ifindex: try #require(ifindex(of: tap)))

        let output = lab.directory.appendingPathComponent("quiet.txt").path
        let producer = try SpawnedProcess([hostile, "-s", lab.socketPath, "-m", "quiet", "-n", "quiet", "-c", "50", "-w", "30"],
                                          output: output)
        #expect(waitUntil { (try? lab.status().producers.map(\.name)) == ["quiet"] })
        // Published, but the sink sleeps: nothing may arrive before the shutdown's drain.
        #expect(capture.next(timeoutMilliseconds: 500) == nil, "the sink was woken: this test would prove nothing")

        #expect(lab.stop(signal: SIGTERM, seconds: 5) == 0, "spantapd must exit 0 within 5 s of SIGTERM: \(lab.log())")
        let frames = capture.drain().filter { $0.count >= 14 && $0[12] == 0x88 && $0[13] == 0xb5 }
        #expect(frames.count == 50, "the 50 frames left in the producer's ring reach the TAP at shutdown")
        #expect(lab.log().contains("producer detached; ring drained and freed"), "\(lab.log())")
        producer.waitUntilExit()
        let printed = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        #expect(printed.contains("quiet done") && printed.contains("connection closed by spantapd"), "\(printed)")
    }

    @Test func restartAfterSigkillRecovers() throws {
        let tap = uniqueName("out"), kept = uniqueName("keep")
        let lab = try DaemonLab(config: DaemonLab.config(ingress: [uniqueName("in")], output: tap)
            + DaemonLab.config(instance: "span2", ingress: [uniqueName("in")], output: kept, persistent: true))
        lab.interfaces = [tap, kept]
        defer { lab.cleanUp() }
        try lab.start()
        let keptIndex = try #require(ifindex(of: kept))
        #expect(lab.stop(signal: SIGKILL) == 128 + SIGKILL)
        // The kernel deleted the non-persistent TAP with its last fd; the persistent one and a
        // stale socket file are left, as after any crash.
        #expect(waitUntil { ifindex(of: tap) == nil })
        #expect(ifindex(of: kept) == keptIndex)
        #expect(access(lab.socketPath, F_OK) == 0)

        try lab.start()
        let status = try lab.status()
        #expect(status.instances.map(\.output.kind) == ["tap", "tap"])
        #expect(ifindex(of: tap) != nil)
        #expect(ifindex(of: kept) == keptIndex, "the persistent TAP is re-attached, not replaced")
        #expect(lab.stop() == 0)
        #expect(ifindex(of: kept) == keptIndex, "persistent outputs survive shutdown")
    }

    @Test func deletedTapIsRecreatedWithinASecond() throws {
        let (lab, tap) = try DaemonLab.startedWithTap()
        defer { lab.cleanUp() }
        let before = try #require(ifindex(of: tap))
        try run("ip", "link", "del", tap)
        #expect(waitUntil(seconds: 1) { ifindex(of: tap).map { $0 != before } ?? false }, "re-created within a second")
        let output = try lab.status().instances.first
        #expect(output?.recreated == 1)
        #expect(output?.output.ifindex == ifindex(of: tap))
        #expect(output?.output.kind == "tap")
    }

    @Test func renamedTapIsFollowed() throws {
        let tap = uniqueName("out"), renamed = uniqueName("ren")
        let lab = try DaemonLab(config: DaemonLab.config(ingress: [uniqueName("in")], output: tap))
        lab.interfaces = [tap, renamed]
        defer { lab.cleanUp() }
        try lab.start()
        let index = try #require(ifindex(of: tap))
        try run("ip", "link", "set", tap, "name", renamed)
        #expect(waitUntil { (try? lab.status().instances.first?.output.interface) == renamed })
        #expect(try lab.status().instances.first?.output.ifindex == index)
        #expect(try lab.status().instances.first?.recreated == 0)
    }

    @Test func badConfigAtStartIsRefusedWithFileAndLine() throws {
        let lab = try DaemonLab(config: DaemonLab.config(ingress: ["tstdup0"], output: uniqueName("out"))
            + DaemonLab.config(instance: "span2", ingress: ["tstdup0"], output: uniqueName("out")))
        defer { lab.cleanUp() }
        let check = #expect(throws: CommandFailure.self) {
            try run(DaemonLab.buildDirectory.appendingPathComponent("spantapd").path, "--config", lab.configPath, "--check")
        }
        #expect(check?.status == 1)
        #expect(check?.output.contains("\(lab.configPath):4:") == true)
        #expect(check?.output.contains("both instance span1 (line 1) and instance span2") == true)
        #expect(throws: CommandFailure.self) { try lab.start() }
    }
}
