import SpanTapFilter
import SpanTapRing

extension ConfigValidator {
    /// Compiles every instance's `input filter` (with its snap length, as tcpdump would) and turns
    /// the bound firewall filters into per-instance selections, each one compiled program. A bad
    /// expression is refused at its statement with libpcap's own message.
    func compilingFilters(_ config: SpanTapConfig) throws(ConfigError) -> SpanTapConfig {
        var config = config
        for index in config.instances.indices {
            let instance = config.instances[index]
            guard let written = interpreter.filterExpressions[instance.name] else { continue }
            config.instances[index].filter = try Self.compile(written.text, for: instance, at: written.location)
        }
        try checkFirewallActions(config)
        var selections: [String: [FirewallBinding]] = [:]   // by "direction/interface", in config order
        var keys: [String] = []
        for binding in interpreter.firewallBindings {
            guard interpreter.firewallFilters.contains(where: { $0.family == binding.family && $0.name == binding.filter }) else {
                throw ConfigError(binding.location, "no firewall family \(binding.family.rawValue) filter named \(binding.filter)")
            }
            let key = "\(binding.direction.rawValue)/\(binding.interface)"
            if selections[key] == nil { keys.append(key) }
            selections[key, default: []].append(binding)
        }
        for key in keys {
            let bindings = selections[key]!
            try checkNoDirectSelection(bindings[0], config)
            for index in config.instances.indices {
                if let selection = try selection(bindings, for: config.instances[index], config) {
                    config.instances[index].firewallSelections.append(selection)
                }
            }
        }
        try checkWholeAndUnits(config, keys.map { selections[$0]![0] })
        return config
    }

    private static func compile(_ expression: String, for instance: MirrorInstance, at location: SourceLocation) throws(ConfigError) -> MirrorFilter {
        do {
            let program = try FilterCompiler.compile(expression, snapLength: instance.maximumPacketLength ?? FilterCompiler.defaultSnapLength)
            return MirrorFilter(expression: expression, program: program)
        } catch {
            throw ConfigError(location, "filter of instance \(instance.name) \"\(expression)\": \(error.message)")
        }
    }

    /// What `port-mirror` (no name) means: the one port-mirroring instance.
    private func mirrorTarget(_ term: FirewallFilter.Term, _ config: SpanTapConfig) -> String? {
        guard term.mirrors else { return nil }
        if let named = term.mirrorInstance { return named }
        let candidates = config.instances.filter { $0.kind == .portMirroring }
        return candidates.count == 1 ? candidates[0].name : nil
    }

    private func checkFirewallActions(_ config: SpanTapConfig) throws(ConfigError) {
        for filter in interpreter.firewallFilters {
            for term in filter.terms where term.mirrors {
                guard let name = term.mirrorInstance else {
                    let count = config.instances.filter { $0.kind == .portMirroring }.count
                    guard count == 1 else {
                        throw ConfigError(term.location, "term \(term.name) of filter \(filter.name) says port-mirror, but there are \(count) port-mirroring instances; name one with port-mirror-instance NAME")
                    }
                    continue
                }
                guard let instance = config.instances.first(where: { $0.name == name }) else {
                    throw ConfigError(term.location, "term \(term.name) of filter \(filter.name) mirrors to instance \(name), which is not configured")
                }
                guard instance.kind == .portMirroring else {
                    throw ConfigError(term.location, "term \(term.name) of filter \(filter.name): port-mirror-instance names a port-mirroring instance; \(name) is an analyzer")
                }
            }
        }
    }

    /// The selection of one interface and direction for `instance`, nil when no term mirrors to it.
    private func selection(_ bindings: [FirewallBinding], for instance: MirrorInstance,
                           _ config: SpanTapConfig) throws(ConfigError) -> FirewallSelection? {
        var predicate = FramePredicate.never
        var names: [String] = []
        for binding in bindings {
            let filter = interpreter.firewallFilters.first { $0.family == binding.family && $0.name == binding.filter }!
            predicate = predicate || filter.selecting(instance.name) { mirrorTarget($0, config) }
            names.append("\(binding.family.rawValue) \(binding.filter)")
        }
        guard predicate != .never else { return nil }
        if let unit = InterfaceUnit(bindings[0].interface), unit.unit != 0 {
            predicate = .expression("vlan \(unit.unit)") && predicate
        }
        if let own = instance.filter { predicate = predicate && .expression(own.expression) }
        guard case .expression(let expression) = predicate else { return nil }
        let compiled = try Self.compile(expression, for: instance, at: bindings[0].location)
        return FirewallSelection(interface: bindings[0].interface, direction: bindings[0].direction, firewallFilters: names, filter: compiled)
    }

    /// A unit's frames in one direction are selected by its firewall filters or by an instance's
    /// `ingress`/`egress`, not both: the first-match order would not hold across the two.
    private func checkNoDirectSelection(_ binding: FirewallBinding, _ config: SpanTapConfig) throws(ConfigError) {
        let direct = config.instances.first {
            (binding.direction == .ingress ? $0.ingress : $0.egress).contains { InterfaceUnit($0) == InterfaceUnit(binding.interface) }
        }
        if let direct {
            throw ConfigError(binding.location, "\(binding.interface) has a firewall filter \(binding.direction == .ingress ? "input" : "output") and is an \(binding.direction.rawValue) of instance \(direct.name); select it one way or the other")
        }
    }

    /// The rule table holds either a whole port or its units, per direction (as for `ingress`).
    private func checkWholeAndUnits(_ config: SpanTapConfig, _ bindings: [FirewallBinding]) throws(ConfigError) {
        for (index, binding) in bindings.enumerated() {
            let unit = InterfaceUnit(binding.interface)!
            let direct = config.instances.flatMap { binding.direction == .ingress ? $0.ingress : $0.egress }
            let others = direct + bindings[..<index].filter { $0.direction == binding.direction }.map(\.interface)
            if let clash = others.first(where: { InterfaceUnit($0).map { $0.port == unit.port && ($0.unit == 0) != (unit.unit == 0) } ?? false }) {
                throw ConfigError(binding.location, "port \(unit.port) is selected (\(binding.direction.rawValue)) both whole and by unit (\(clash), \(binding.interface)); select either the whole port or its units")
            }
        }
    }
}
