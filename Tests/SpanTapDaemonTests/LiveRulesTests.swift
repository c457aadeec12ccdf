import Foundation
import Glibc
import SpanTapControl
import SpanTapTestSupport
import Testing

/// Ring ABI v2: an external producer (the C example, as a forwarder would run) follows rule
/// changes through its ring's rule table, without ever re-attaching.
@Suite(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct LiveRulesTests {
    /// Two instances, each mirroring an interface of its own to a TAP of its own.
    final class TwoOutputs {
        let lab: DaemonLab
        let ingressX: String, ingressY: String, tapA: String, tapB: String

        init() throws {
            ingressX = try DaemonLab.makeIngress()
            ingressY = try DaemonLab.makeIngress()
            tapA = uniqueName("oa")
            tapB = uniqueName("ob")
            lab = try DaemonLab(config: DaemonLab.config(instance: "a", ingress: [ingressX], output: tapA)
                + DaemonLab.config(instance: "b", ingress: [ingressY], output: tapB))
            lab.interfaces = [ingressX, ingressY, tapA, tapB]
            try lab.start()
        }

        /// The C example producer claiming frames from `interface`, 2000 per second in batches of
        /// 8, for `seconds`; its output goes to a file in the lab.
        func startProducer(on interface: String, seconds: Int = 5) throws -> SpawnedProcess {
            try SpawnedProcess([try ExternalProducerTests.buildProducer(), "-s", lab.socketPath, "-n", "live", "-i", interface,
                                "-r", "2000", "-b", "8", "-d", "\(seconds)", "-l", "100"],
                               output: lab.directory.appendingPathComponent("producer.txt").path)
        }

        func producerOutput() -> String {
            (try? String(contentsOf: lab.directory.appendingPathComponent("producer.txt"), encoding: .utf8)) ?? ""
        }
    }

    /// After a rule change at `change`: the first frame on `to` within 100 ms, nothing more on
    /// `from`, and on `to` exactly every `rate`-th frame of the producer's sequence.
    static func expectFramesMove(from: PacketCapture, to: PacketCapture, rate: Int64, after change: () throws -> Void) throws {
        try change()
        let changed = monotonicSeconds()
        let first = to.next(timeoutMilliseconds: 1000)
        let delay = monotonicSeconds() - changed
        #expect(first != nil && delay < 0.1, "first frame on the new output after \(Int(delay * 1000)) ms")
        _ = from.drain(quietMilliseconds: 200) // frames that left before the change
        #expect(from.next(timeoutMilliseconds: 500) == nil, "the old output gets nothing more")
        let sequence = ExternalProducerTests.sequence([first].compactMap { $0 } + to.drain(quietMilliseconds: 1500))
        let steps = Set(zip(sequence, sequence.dropFirst()).map { $1 - $0 })
        #expect(sequence.count > 20 && steps == [rate], "\(sequence.count) frames, steps \(steps)")
    }

    @Test func aReloadMovesAProducersFramesAndRateWithoutReattaching() throws {
        let setup = try TwoOutputs()
        defer { setup.lab.cleanUp() }
        let captureA = try PacketCapture(ifindex: try #require(ifindex(of: setup.tapA)))
        let captureB = try PacketCapture(ifindex: try #require(ifindex(of: setup.tapB)))
        let producer = try setup.startProducer(on: setup.ingressX)
        defer { producer.signal(SIGKILL) }
        #expect(captureA.next(timeoutMilliseconds: 3000) != nil, "frames flow to A first")

        try Self.expectFramesMove(from: captureA, to: captureB, rate: 4) {
            try setup.lab.writeConfig(DaemonLab.config(instance: "a", ingress: [setup.ingressY], output: setup.tapA)
                + DaemonLab.config(instance: "b", rate: 4, ingress: [setup.ingressX], output: setup.tapB))
            #expect(try setup.lab.send(.reload).ok)
        }
        producer.waitUntilExit()
        #expect(setup.lab.log().components(separatedBy: "producer attached").count - 1 == 1, "attached once, never again")
        let generations = Set(setup.producerOutput().split(separator: "\n").compactMap { $0.split(separator: "generation=").last })
        #expect(generations.count >= 2, "the producer saw the table rewritten under it: \(setup.producerOutput())")
    }

    @Test func anApplyMovesAProducersFramesWithoutReattaching() throws {
        let setup = try TwoOutputs()
        defer { setup.lab.cleanUp() }
        let captureA = try PacketCapture(ifindex: try #require(ifindex(of: setup.tapA)))
        let tapB = try #require(ifindex(of: setup.tapB))
        let captureB = try PacketCapture(ifindex: tapB)
        let producer = try setup.startProducer(on: setup.ingressX)
        defer { producer.signal(SIGKILL) }
        #expect(captureA.next(timeoutMilliseconds: 3000) != nil)

        let x = try #require(ifindex(of: setup.ingressX))
        try Self.expectFramesMove(from: captureA, to: captureB, rate: 2) {
            let snapshot = ForwarderSnapshot(mirrorConfigs: [.init(ingressIfindex: x, outputIfindex: tapB, rate: 2)])
            let reply = try setup.lab.send(.apply(snapshot))
            #expect(reply.ok, "\(reply)")
        }
        producer.waitUntilExit()
        #expect(setup.lab.log().components(separatedBy: "producer attached").count - 1 == 1)
    }

    @Test func aProducerFollowsItsInterfaceThroughDeletionAndRecreation() throws {
        let setup = try TwoOutputs()
        defer { setup.lab.cleanUp() }
        let captureA = try PacketCapture(ifindex: try #require(ifindex(of: setup.tapA)))
        let producer = try setup.startProducer(on: setup.ingressX, seconds: 6)
        defer { producer.signal(SIGKILL) }
        #expect(captureA.next(timeoutMilliseconds: 3000) != nil)
        let before = try #require(ifindex(of: setup.ingressX))

        try run("ip", "link", "del", setup.ingressX)
        _ = captureA.drain(quietMilliseconds: 300)
        #expect(captureA.next(timeoutMilliseconds: 300) == nil, "no rule while the interface is gone")
        try run("ip", "link", "add", setup.ingressX, "type", "veth", "peer", "name", setup.ingressX + "p")
        #expect(try #require(ifindex(of: setup.ingressX)) != before, "the new interface has a new ifindex")
        #expect(captureA.next(timeoutMilliseconds: 1000) != nil, "frames resume under the new ifindex")
        producer.waitUntilExit()
        #expect(setup.lab.log().components(separatedBy: "producer attached").count - 1 == 1)
    }
}
