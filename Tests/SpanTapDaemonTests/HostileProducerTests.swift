import Foundation
import Glibc
import SpanTapControl
import SpanTapRing
import SpanTapTestSupport
import Testing

/// External producers are not trusted (invariant 8): a real C process writes hostile indices and
/// records into its real memfd, and the release spantapd must shrug it off.
@Suite(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct HostileProducerTests {
    static func hostile() throws -> String { try compiledFixture("Tests/Fixtures/hostile_producer.c") }

    /// The daemon after an attack: answers within a second, idle, nothing held, other producers served.
    static func expectRecovered(_ lab: DaemonLab, tap: String, descriptorsBefore: Int) throws {
        let asked = monotonicSeconds()
        let status = try lab.status()
        #expect(monotonicSeconds() - asked < 1, "status must answer within a second")
        #expect(status.producers.isEmpty)
        #expect(try lab.cpuLoad(over: 1) < 0.05, "spantapd must be idle again, not spinning")
        #expect(waitUntil { (try? lab.openDescriptors()) == descriptorsBefore },
                "descriptors: \(descriptorsBefore) before, \((try? lab.openDescriptors()) ?? -1) after")

        let capture = try PacketCapture(ifindex: try #require(ifindex(of: tap)))
        _ = try run(try ExternalProducerTests.buildProducer(), "-s", lab.socketPath, "-n", "good", "-c", "50", "-l", "100")
        #expect(ExternalProducerTests.sequence(capture.drain()) == Array(0..<50), "another producer's frames still arrive")
        #expect(lab.stop() == 0, "SIGTERM still exits 0: \(lab.log())")
        #expect(ifindex(of: tap) == nil, "the TAP spantapd made is removed")
    }

    @Test(arguments: [("backwards", "producer_index moved backwards from 8 to 3"),
                      ("ahead", "producer_index 1099511627784 is 1099511627776 ahead of consumer_index 8")])
    func aBrokenIndexQuarantinesTheProducer(mode: String, logged: String) throws {
        let (lab, tap) = try DaemonLab.startedWithTap()
        defer { lab.cleanUp() }
        let descriptors = try lab.settledDescriptors()
        let capture = try PacketCapture(ifindex: try #require(ifindex(of: tap)))

        let printed = try run(try Self.hostile(), "-s", lab.socketPath, "-m", mode, "-w", "5")
        #expect(printed.contains("connection closed by spantapd"), "quarantine closes the connection: \(printed)")
        #expect(lab.log().contains("producer quarantined: \(logged)"), "\(lab.log())")
        #expect(capture.drain().count == 8, "the 8 good frames arrive, nothing of the broken ring is replayed")
        let daemon = try lab.status().daemon
        #expect(daemon.producersQuarantined == 1)
        #expect(daemon.detachedProducers.mirroredPackets == 8, "a quarantined producer's counters are kept")
        try Self.expectRecovered(lab, tap: tap, descriptorsBefore: descriptors)
    }

    /// A producer writing its eventfd in a tight loop without publishing: after a few empty
    /// wake-ups in a row the sink ignores that eventfd and looks at the ring 100 times a second,
    /// so 3 s of storm cost spantapd at most 15 % of one core, and the frames it does publish
    /// (one every 100 ms) still arrive.
    @Test func anEventfdStormCostsLittleAndFramesStillArrive() throws {
        let (lab, tap) = try DaemonLab.startedWithTap()
        defer { lab.cleanUp() }
        let capture = try PacketCapture(ifindex: try #require(ifindex(of: tap)))
        let cpuBefore = try lab.cpuSeconds(), started = monotonicSeconds()
        let printed = try run(try Self.hostile(), "-s", lab.socketPath, "-m", "storm", "-t", "3", "-n", "storm")
        let cpu = (try lab.cpuSeconds() - cpuBefore) / (monotonicSeconds() - started)
        #expect(cpu <= 0.15, "spantapd used \(Int(cpu * 100)) % of a core during the storm (\(printed))")
        func figure(_ key: String) -> Int? {
            printed.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix(key + "=") }.flatMap { Int($0.dropFirst(key.count + 1)) }
        }
        let published = try #require(figure("published"), "\(printed)")
        #expect(published >= 25 && capture.drain().count == published, "every frame published during the storm arrives")
        let writes = figure("writes") ?? 0
        #expect(writes > 100_000, "it was a storm: \(printed)")
        let spurious = try lab.status().daemon.detachedProducers.spuriousWakeups
        #expect(spurious >= 16 && spurious < UInt64(writes), "spurious wake-ups counted: \(spurious)")
        #expect(lab.log().contains("wakes the sink without publishing"), "logged once: \(lab.log())")
    }

    @Test func recordsOutsideTheGrantReachNoOutput() throws {
        let ingressA = uniqueName("ia"), ingressB = uniqueName("ib"), tapA = uniqueName("oa"), tapB = uniqueName("ob")
        for ingress in [ingressA, ingressB] { try run("ip", "link", "add", ingress, "type", "veth", "peer", "name", ingress + "p") }
        let lab = try DaemonLab(config: DaemonLab.config(instance: "a", ingress: [ingressA], output: tapA)
            + DaemonLab.config(instance: "b", ingress: [ingressB], output: tapB))
        lab.interfaces = [ingressA, ingressB, tapA, tapB]
        defer { lab.cleanUp() }
        try lab.start()
        let captureA = try PacketCapture(ifindex: try #require(ifindex(of: tapA)))
        let captureB = try PacketCapture(ifindex: try #require(ifindex(of: tapB)))

        // 20 frames from ingress A forged for B's output, 20 for output id 4242, 20 as transmitted.
        let printed = try run(try Self.hostile(), "-s", lab.socketPath, "-m", "forge", "-c", "20")
        #expect(printed.contains("forge done"), "\(printed)")
        #expect(waitUntil { (try? lab.status().daemon.detachedProducers.mirrorDropsNotGranted) == 60 })
        #expect(captureA.drain().isEmpty && captureB.drain().isEmpty, "no forged frame reaches any output")
        let status = try lab.status()
        #expect(status.instances.map(\.deliveredPackets) == [0, 0])
        #expect(status.daemon.producersQuarantined == 0, "a bad record is dropped, not a reason to quarantine")
    }

    @Test func recordsThatDoNotFitTheirSlotAreDroppedAndCounted() throws {
        let (lab, tap) = try DaemonLab.startedWithTap()
        defer { lab.cleanUp() }
        let capture = try PacketCapture(ifindex: try #require(ifindex(of: tap)))
        _ = try run(try Self.hostile(), "-s", lab.socketPath, "-m", "badlen", "-c", "10")
        #expect(waitUntil { (try? lab.status().daemon.detachedProducers.mirrorDropsBadRecord) == 30 })
        #expect(capture.drain().isEmpty)
        #expect(try lab.status().instances.first?.deliveredPackets == 0)
    }

    @Test func aSecondAttachOnOneConnectionIsRefusedAndLeaksNothing() throws {
        let (lab, tap) = try DaemonLab.startedWithTap()
        defer { lab.cleanUp() }
        let descriptors = try lab.settledDescriptors()
        let printed = try run(try Self.hostile(), "-s", lab.socketPath, "-m", "reattach")
        #expect(printed.contains("second attach refused"), "\(printed)")
        #expect(printed.contains("one producer per connection"))
        try Self.expectRecovered(lab, tap: tap, descriptorsBefore: descriptors)
    }

    @Test func attachDetachCyclesLeaveDescriptorsAndMemoryFlat() throws {
        let (lab, _) = try DaemonLab.startedWithTap()
        defer { lab.cleanUp() }
        _ = try run(try Self.hostile(), "-s", lab.socketPath, "-m", "cycle", "-n", "warm", "-c", "100")
        let descriptors = try lab.settledDescriptors(), resident = try lab.residentKiB()
        let printed = try run(try Self.hostile(), "-s", lab.socketPath, "-m", "cycle", "-n", "cyc", "-c", "1000")
        #expect(printed.contains("cycles=1000"))
        // The last cycle's connection, memfd and eventfd close a moment after the client exits.
        #expect(waitUntil { (try? lab.openDescriptors()) == descriptors },
                "descriptors: \(descriptors) before, \((try? lab.openDescriptors()) ?? -1) after 1000 cycles")
        #expect(try lab.residentKiB() - resident < 2048, "RSS \(resident) KiB before, \((try? lab.residentKiB()) ?? -1) KiB after 1000 cycles")
        #expect(try lab.status().daemon.detachedProducers == MirrorCounters())
    }
}
