import Foundation
import Logging
import SpanTapFastPath
import SpanTapLink
import SpanTapRing
import SpanTapSink
import SpanTapTestSupport
import Synchronization
import Testing

/// A NamespaceLab whose forwarder mirrors host A's frames (ingress on the forwarder's A end)
/// into per-binding rings drained by a real SinkService into a real TAP.
// @unchecked: set up in init and torn down once by the test that made it; shared read-only.
final class MirrorLab: @unchecked Sendable {
    let hosts: NamespaceLab
    let tap: TapOutput
    let sink = SinkService()
    let fastPath: FastPath
    private let mirrors = BindingMirrors()

    /// - Parameter drained: false leaves the rings without a consumer (a stalled sink).
    init(mode: XDPMode, rate: UInt32, ringSlots: Int = 1024, drained: Bool = true) throws {
        hosts = try NamespaceLab()
        do {
            tap = try TapOutput.create(name: uniqueName("mir"), configuration: TapConfiguration(mtu: 2000), control: LinkControl())
        } catch {
            hosts.teardown()
            throw error
        }
        sink.addOutput(SinkOutput(id: 0, name: tap.name, descriptor: tap.fd))
        let geometry = try RingGeometry(slotCount: ringSlots, slotSize: 2048)
        let (sink, mirrors) = (sink, mirrors)
        var logger = Logger(label: "test.mirror")
        logger.logLevel = .warning
        fastPath = FastPath(config: FastPathConfig(crossConnects: [
            CrossConnectConfig(name: "wire0", interfaceA: hosts.forwarderA, interfaceB: hosts.forwarderB)], mode: mode),
            logger: logger) { context in
            guard let ring = try? HandoffRing.create(name: "test-\(context.interface)", geometry: geometry) else {
                return MirrorHook(context: context)
            }
            let (rules, mirrorOnce) = mirrors.rules.withLock { $0 }
            ring.publishRules(rules, mirrorOnce: mirrorOnce)
            let mirror = BindingMirror(context: context, ring: ring)
            mirrors.list.withLock { $0.append(mirror) }
            if drained { sink.attach(ring) }
            return mirror.hook()
        }
        setRules([RingRule(ifindex: if_nametoindex(hosts.forwarderA), outputID: 0, rate: rate)])
    }

    /// Rewrites every binding's rule table, as spantapd does on a reload.
    func setRules(_ newRules: [RingRule], mirrorOnce: Bool = false) {
        mirrors.rules.withLock { $0 = (newRules, mirrorOnce) }
        for mirror in mirrors.list.withLock({ $0 }) { mirror.ring.publishRules(newRules, mirrorOnce: mirrorOnce) }
    }

    func start() throws { try fastPath.start() }

    /// The ring of the binding on `interface` (queue 0).
    func ring(_ interface: String) -> HandoffRing? {
        mirrors.list.withLock { $0.first { $0.context.interface == interface }?.ring }
    }

    /// Sends `frames` out of host A's eth0 `count` times in turn, `intervalMicroseconds` apart;
    /// returns the seconds from the first send to the last (the sender's own clock).
    @discardableResult
    func sendFromA(_ frames: [[UInt8]], count: Int, intervalMicroseconds: Int = 200) throws -> Double {
        try send(from: hosts.namespaceA, frames, count: count, intervalMicroseconds: intervalMicroseconds)
    }

    /// The same from host B (towards A).
    @discardableResult
    func sendFromB(_ frames: [[UInt8]], count: Int, intervalMicroseconds: Int = 200) throws -> Double {
        try send(from: hosts.namespaceB, frames, count: count, intervalMicroseconds: intervalMicroseconds)
    }

    private func send(from namespace: String, _ frames: [[UInt8]], count: Int, intervalMicroseconds: Int) throws -> Double {
        let sender = try compiledFixture("Tests/Fixtures/send_frames.c")
        let hex = frames.map { $0.map { String(format: "%02x", $0) }.joined() }
        let printed = try run(["ip", "netns", "exec", namespace, sender, "eth0", "\(count)", "\(intervalMicroseconds)"] + hex)
        return try #require(Double(printed.trimmingCharacters(in: .whitespacesAndNewlines)), "send_frames printed \(printed)")
    }

    /// The ifindexes of the forwarder's two ends (the rules name these).
    var ifindexA: UInt32 { if_nametoindex(hosts.forwarderA) }
    var ifindexB: UInt32 { if_nametoindex(hosts.forwarderB) }

    /// Waits until the binding on `interface` has received `count` frames and its ring is drained.
    func settled(_ interface: String, received count: UInt64) -> Bool {
        waitUntil {
            ring(interface)?.queued == 0
                && fastPath.counters().first { $0.interface == interface }?.values.rxPackets == count
        }
    }

    func teardown() {
        fastPath.stop()
        for mirror in mirrors.list.withLock({ $0 }) { sink.detach(mirror.ring) }
        sink.removeOutput(id: 0)
        try? tap.remove()
        hosts.teardown()
    }
}

/// The bindings' mirrors, collected as the fast path makes its hooks (on its starting thread).
final class BindingMirrors: Sendable {
    let list = Mutex<[BindingMirror]>([])
    /// The rules (and mirror-once) every binding's ring carries, also rings made after a change.
    let rules = Mutex<([RingRule], Bool)>(([], false))
}
