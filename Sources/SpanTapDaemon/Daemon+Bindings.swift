import SpanTapConfig
import SpanTapControl
import SpanTapFastPath
import SpanTapLink
import SpanTapRing

extension Daemon {
    /// Mirror counters of the bindings that produce `instance`'s clones: those receiving on its
    /// ingress ports, and those transmitting on its egress ports (their cross-connect's other side).
    /// A binding's ring is shared by every rule it serves, so instances sharing a port share counts.
    func mirrorCounters(_ instance: MirrorInstance) -> MirrorCounters {
        let ingress = Set(instance.selectors(.ingress).compactMap { InterfaceUnit($0)?.port })
        let egress = Set(instance.selectors(.egress).compactMap { InterfaceUnit($0)?.port })
        var sum = MirrorCounters()
        for runner in crossConnects.values {
            for totals in runner.bindingTotals() {
                let peer = runner.interfaces.first { $0 != totals.interface } ?? ""
                if ingress.contains(totals.interface) || egress.contains(peer) { sum += totals.mirror }
            }
        }
        return sum
    }

    func bindingStatus() -> [StatusReport.Binding] {
        crossConnects.keys.sorted().flatMap { crossConnects[$0]!.bindingTotals() }.map {
            StatusReport.Binding(interface: $0.interface, queue: $0.queue, mode: $0.mode,
                                 rxPackets: $0.forwarding.rxPackets, txPackets: $0.forwarding.txPackets,
                                 txDrops: $0.forwarding.txDrops, mirror: $0.mirror, kernel: $0.kernel)
        }
    }

    /// The rules changed (reload, apply, a link came or went): every ring's rule table is
    /// rewritten, so each binding and each external producer follows within one batch, without
    /// restarting or re-attaching, and external producers' grants follow.
    func mirrorRulesChanged() {
        // One rule per interface, direction and unit (a snapshot may name an ifindex twice, and a
        // unit and a whole port may resolve alike while links change; the first entry wins), except
        // filtered rules: one firewall filter's selections for several instances share a key, and
        // their filters are disjoint (spantap_ring.h's rule table), so all of them stay.
        var onlyFiltered: [RingRule.Key: Bool] = [:]   // per key kept: whether every rule so far has a filter
        let rules = mirrorRules()
        ringRules = rules.compactMap(\.ringRule).filter { rule in
            let filtered = rule.filter != nil
            guard let sharable = onlyFiltered[rule.key] else {
                onlyFiltered[rule.key] = filtered
                return true
            }
            return sharable && filtered
        }
        let mirrorOnce = forwarderSnapshot == nil && config.mirrorOnce
        for runner in crossConnects.values { runner.publishRules(ringRules, mirrorOnce: mirrorOnce) }
        let grant = recordGrant()
        for producer in producers.values {
            producer.ring.publishRules(ringRules, mirrorOnce: mirrorOnce)
            sink.setGrant(grant, for: producer.ring)
        }
        captureRulesChanged(rules)
    }

    /// Brings the running cross-connects in line with `dataplane`: changed or removed ones stop,
    /// new ones start if their interfaces exist, else wait for them (parked).
    func applyDataplane(_ dataplane: Dataplane) {
        let mode = XDPMode(rawValue: dataplane.xdpMode.rawValue) ?? .auto
        let wanted = Dictionary(uniqueKeysWithValues: dataplane.crossConnects.map {
            ($0.name, CrossConnectConfig(name: $0.name, interfaceA: $0.interfaces[0], interfaceB: $0.interfaces[1]))
        })
        for (name, runner) in crossConnects where wanted[name] != runner.config || runner.mode != mode {
            runner.stop(sink: sink)
            crossConnects[name] = nil
            logger.info("cross-connect stopped", metadata: ["cross-connect": "\(name)"])
        }
        for (name, config) in wanted where crossConnects[name] == nil {
            crossConnects[name] = CrossConnectRunner(config: config, mode: mode)
            startIfPossible(crossConnects[name]!)
        }
    }

    /// Starts a parked cross-connect once both interfaces exist; a failure is logged and the
    /// cross-connect stays parked (a later link event retries).
    func startIfPossible(_ runner: CrossConnectRunner) {
        let missing = runner.interfaces.filter { ((try? control.link(named: $0)) ?? nil) == nil }
        guard missing.isEmpty else {
            logger.warning("cross-connect parked until its interfaces exist",
                           metadata: ["cross-connect": "\(runner.config.name)", "missing": "\(missing.joined(separator: ","))"])
            return
        }
        do {
            try runner.start(rules: ringRules, mirrorOnce: forwarderSnapshot == nil && config.mirrorOnce,
                             placement: forwardingPlacement, sink: sink, geometry: geometry, logger: logger)
        } catch {
            logger.error("cross-connect cannot start", metadata: ["cross-connect": "\(runner.config.name)", "error": "\(error)"])
        }
    }

    /// Ingress and cross-connect interfaces appearing and disappearing.
    func dataplaneLinkChanged(_ event: LinkEvent) {
        switch event {
        case .added(let link):
            for runner in crossConnects.values where !runner.isRunning && runner.interfaces.contains(link.name) {
                startIfPossible(runner)
            }
            mirrorRulesChanged()
        case .removed(let link):
            for runner in crossConnects.values where runner.isRunning && runner.interfaces.contains(link.name) {
                runner.stop(sink: sink)
                logger.warning("cross-connect parked: an interface disappeared; counters kept",
                               metadata: ["cross-connect": "\(runner.config.name)", "interface": "\(link.name)"])
            }
            mirrorRulesChanged()
        case .renamed, .stateChanged:
            break
        }
    }
}
