import Logging
import SpanTapFastPath
import SpanTapRing
import SpanTapSink
import SpanTapSystem
import Synchronization

/// One `cross-connect` of the reference forwarder as spantapd runs it: started when both its
/// interfaces exist, parked (with the reason, logged) while one is missing, and its counters kept
/// across stops so status never goes backwards. Confined to the daemon queue.
final class CrossConnectRunner {
    /// What one binding has counted, including earlier runs of the same interface and queue.
    struct BindingTotals {
        var crossConnect: String
        var interface: String
        var queue: UInt32
        var mode: String
        var forwarding: BindingCountersSnapshot.Values
        var kernel: XDPStatistics
        var mirror: MirrorCounters
    }

    let config: CrossConnectConfig
    let mode: XDPMode
    private var fastPath: FastPath?
    private var mirrors: [BindingMirror] = []
    private var runningMode = "parked"
    /// Totals of bindings that have stopped, by "interface/queue".
    private var retired: [String: BindingTotals] = [:]

    init(config: CrossConnectConfig, mode: XDPMode) {
        self.config = config
        self.mode = mode
    }

    var isRunning: Bool { fastPath != nil }
    var interfaces: [String] { [config.interfaceA, config.interfaceB] }

    /// Starts forwarding; each binding gets its own ring (attached to `sink`) whose rule table
    /// starts with `rules`. Throws if the interfaces are missing or AF_XDP cannot attach.
    func start(rules: [RingRule], mirrorOnce: Bool, placement: ThreadPlacement, sink: SinkService, geometry: RingGeometry,
               logger: Logger) throws {
        guard fastPath == nil else { return }
        let made = MadeMirrors()
        let fastPath = FastPath(config: FastPathConfig(crossConnects: [config], mode: mode, placement: placement), logger: logger) { context in
            guard let ring = try? HandoffRing.create(name: "spantap-\(context.interface)-q\(context.queue)", geometry: geometry) else {
                logger.error("no memory for a mirror ring; this binding forwards without mirroring",
                             metadata: ["interface": "\(context.interface)", "queue": "\(context.queue)"])
                return MirrorHook(context: context)
            }
            ring.publishRules(rules, mirrorOnce: mirrorOnce)
            let mirror = BindingMirror(context: context, ring: ring)
            made.list.withLock { $0.append(mirror) }
            sink.attach(ring)
            return mirror.hook()
        }
        do {
            try fastPath.start()
        } catch {
            for mirror in made.list.withLock({ $0 }) { sink.detach(mirror.ring) }
            throw error
        }
        self.fastPath = fastPath
        mirrors = made.list.withLock { $0 }
        runningMode = fastPath.crossConnects.first?.mode?.rawValue ?? mode.rawValue
        logger.info("cross-connect started", metadata: ["cross-connect": "\(config.name)", "mode": "\(runningMode)",
                                                         "bindings": "\(mirrors.count)"])
    }

    /// Rewrites every binding's rule table; the bindings follow at their next RX batch.
    func publishRules(_ rules: [RingRule], mirrorOnce: Bool) {
        for mirror in mirrors { mirror.ring.publishRules(rules, mirrorOnce: mirrorOnce) }
    }

    /// Stops forwarding (XDP detached), drains the bindings' rings into the outputs and keeps
    /// their counters.
    func stop(sink: SinkService) {
        guard let fastPath else { return }
        let reports = fastPath.stop()
        for mirror in mirrors { sink.detach(mirror.ring) }
        for snapshot in reports.flatMap(\.bindings) {
            let ring = mirrors.first { $0.context.interface == snapshot.interface && $0.context.queue == snapshot.queue }?.ring
            retire(BindingTotals(crossConnect: config.name, interface: snapshot.interface, queue: snapshot.queue,
                                 mode: runningMode, forwarding: snapshot.values, kernel: snapshot.kernel,
                                 mirror: ring?.counters ?? MirrorCounters()))
        }
        mirrors = []
        self.fastPath = nil
    }

    /// Current totals of every binding this cross-connect has had.
    func bindingTotals() -> [BindingTotals] {
        var totals = retired
        for snapshot in fastPath?.counters() ?? [] {
            let key = "\(snapshot.interface)/\(snapshot.queue)"
            let ring = mirrors.first { $0.context.interface == snapshot.interface && $0.context.queue == snapshot.queue }?.ring
            var current = BindingTotals(crossConnect: config.name, interface: snapshot.interface, queue: snapshot.queue,
                                        mode: runningMode, forwarding: snapshot.values, kernel: snapshot.kernel,
                                        mirror: ring?.counters ?? MirrorCounters())
            if let earlier = retired[key] { current.add(earlier) }
            totals[key] = current
        }
        return totals.values.sorted { ($0.interface, $0.queue) < ($1.interface, $1.queue) }
    }

    private func retire(_ totals: BindingTotals) {
        let key = "\(totals.interface)/\(totals.queue)"
        var merged = totals
        if let earlier = retired[key] { merged.add(earlier) }
        retired[key] = merged
    }
}

extension CrossConnectRunner.BindingTotals {
    mutating func add(_ other: Self) {
        forwarding.rxPackets += other.forwarding.rxPackets
        forwarding.rxBytes += other.forwarding.rxBytes
        forwarding.txPackets += other.forwarding.txPackets
        forwarding.txBytes += other.forwarding.txBytes
        forwarding.txDrops += other.forwarding.txDrops
        forwarding.txCompletions += other.forwarding.txCompletions
        kernel += other.kernel
        mirror += other.mirror
    }
}

/// Mirrors made while a FastPath starts (its hook factory runs on the starting thread).
private final class MadeMirrors: Sendable {
    let list = Mutex<[BindingMirror]>([])
}
