import Glibc
import SpanTapConfig
import SpanTapControl
import SpanTapFilter
import SpanTapRing
import SystemPackage

extension Daemon {
    /// Serves one control request (on the daemon queue). A member of the monitoring group
    /// (`--control-group`) may watch, nothing more: status and capture.
    func handle(_ request: ControlRequest, from peer: ControlPeer) -> ControlReply {
        if !peer.mayControl, !request.onlyWatches {
            return ControlReply(.failure("permission denied: members of the monitoring group may ask for status and capture only; \(request.command) needs root"))
        }
        switch request {
        case .status:
            return ControlReply(ControlResponse(status: status()))
        case .reload:
            return ControlReply(reload())
        case .apply(let snapshot):
            return ControlReply(applySnapshot(snapshot))
        case .attachProducer(let request):
            do {
                let (grant, ring) = try attachProducer(request, peer: peer)
                return ControlReply(ControlResponse(producer: grant), descriptors: [ring.memory, ring.wakeup], holdsConnection: true)
            } catch {
                return ControlReply(.failure("attach-producer \(request.name): \(error)"))
            }
        case .detachProducer(let name):
            guard let connection = producers.first(where: { $0.value.name == name && $0.value.peer.uid == peer.uid })?.key else {
                return ControlReply(.failure("no producer named '\(name)' is attached"))
            }
            detachProducer(connection: connection)
            return ControlReply(ControlResponse(message: "producer \(name) detached; its ring was drained"))
        case .capture(let request):
            endAbandonedCaptures()
            do {
                let (report, socket) = try startCapture(request, peer: peer)
                return ControlReply(ControlResponse(capture: report), descriptors: [socket], holdsConnection: true, closingDescriptors: true)
            } catch {
                return ControlReply(.failure("capture: \(error)"))
            }
        case .captureStop:
            guard let report = endCapture(connection: peer.connection) else {
                return ControlReply(.failure("capture-stop: this connection has no capture"))
            }
            return ControlReply(ControlResponse(capture: report))
        }
    }

    /// The rules every producer should apply: from the config, or from the forwarder's snapshot
    /// while one is in force (a reload returns to the config).
    func mirrorRules() -> [ResolvedRule] {
        if let snapshot = forwarderSnapshot { return resolve(snapshot).rules }
        return config.instances.flatMap { instance in
            instance.selectors(.ingress).map { rule(instance, $0, .received) } + instance.selectors(.egress).map { rule(instance, $0, .transmitted) }
        }
    }

    private func rule(_ instance: MirrorInstance, _ selector: String, _ direction: MirrorDirection) -> ResolvedRule {
        let (ifindex, vlanID) = resolve(selector)
        let filter = instance.filter(for: selector, direction == .received ? .ingress : .egress)
        return ResolvedRule(interface: selector, ifindex: ifindex, direction: direction, vlanID: vlanID, rate: instance.rate,
                            runLength: instance.runLength, snapLength: UInt32(instance.maximumPacketLength ?? 0),
                            maxPacketsPerSecond: instance.maxPacketsPerSecond,
                            output: instance.outputs.map(\.interface).joined(separator: ","),
                            outputID: outputs.selectionID(for: instance) ?? UInt32.max, instance: instance.name,
                            filter: filter)
    }

    /// A link of exactly that name is that link (a kernel VLAN sub-interface `eth0.100` stays
    /// itself); otherwise `NAME.UNIT` is unit UNIT of port NAME. (0, 0) while it does not exist.
    private func resolve(_ selector: String) -> (ifindex: Int32, vlanID: UInt16) {
        if let link = (try? control.link(named: selector)) ?? nil { return (link.ifindex, 0) }
        guard let unit = InterfaceUnit(selector), let port = (try? control.link(named: unit.port)) ?? nil else { return (0, 0) }
        return (port.ifindex, unit.unit)
    }

    /// `apply`: the forwarder's snapshot replaces the mirror table. Entries naming an ifindex that
    /// is no link, or an output spantapd does not manage, are reported and left out.
    /// An entry's `filter` that libpcap or the producers' validator refuses refuses the whole
    /// snapshot, and the running mirror table stays.
    func applySnapshot(_ snapshot: ForwarderSnapshot) -> ControlResponse {
        var filters: [MirrorFilter?] = []
        for (index, entry) in snapshot.mirrorConfigs.enumerated() {
            guard let expression = entry.filter else {
                filters.append(nil)
                continue
            }
            do {
                filters.append(MirrorFilter(expression: expression, program: try FilterCompiler.compile(expression)))
            } catch {
                return .failure("apply refused, mirror table unchanged: mirror_configs[\(index)] filter \"\(expression)\": \(error.message)")
            }
        }
        do {
            try ResolvedRule.checkFilterCount(filters)
        } catch {
            return .failure("apply refused, mirror table unchanged: \(error)")
        }
        forwarderFilters = filters
        let (rules, problems) = resolve(snapshot)
        forwarderSnapshot = snapshot
        mirrorRulesChanged()
        let message = "mirror table replaced: \(rules.count) rule(s)" + (problems.isEmpty ? "" : "; ignored: " + problems.joined(separator: "; "))
        logger.info("forwarder snapshot applied", metadata: ["rules": "\(rules.count)", "ignored": "\(problems.count)"])
        return ControlResponse(message: message)
    }

    private func resolve(_ snapshot: ForwarderSnapshot) -> (rules: [ResolvedRule], problems: [String]) {
        var rules: [ResolvedRule] = [], problems: [String] = []
        for (index, entry) in snapshot.mirrorConfigs.enumerated() {
            guard let ingress = (try? control.link(index: entry.ingressIfindex)) ?? nil else {
                problems.append("unknown ingress_ifindex \(entry.ingressIfindex)")
                continue
            }
            guard let output = outputs.outputs.values.first(where: { $0.ifindex == entry.outputIfindex && $0.ifindex != 0 }) else {
                problems.append("output_ifindex \(entry.outputIfindex) is not a spantapd output")
                continue
            }
            rules.append(ResolvedRule(interface: ingress.name, ifindex: ingress.ifindex, direction: .received, vlanID: 0,
                                      rate: entry.rate, runLength: 0, snapLength: 0, maxPacketsPerSecond: 0,
                                      output: output.currentName, outputID: output.id, instance: "snapshot",
                                      filter: index < forwarderFilters.count ? forwarderFilters[index] : nil))
        }
        return (rules, problems)
    }
}
