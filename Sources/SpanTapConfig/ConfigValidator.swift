/// Checks that span statements: every instance complete, each interface mirrored by one instance
/// per direction (whole, or by VLAN unit, not both), no output that is also a mirrored interface
/// (it would mirror its own mirror) or a unit, cross-connects of exactly two ports.
struct ConfigValidator {
    let interpreter: ConfigInterpreter

    func validated() throws(ConfigError) -> SpanTapConfig {
        for instance in interpreter.config.instances { try checkFanOut(instance) }
        let config = try compilingFilters(resolvingVXLAN(interpreter.config))
        try checkingGRE(config)
        for instance in config.instances {
            let location = interpreter.instanceLocations[instance.name]!
            guard instance.outputs.contains(where: { !$0.interface.isEmpty }) else {
                throw ConfigError(location, "instance \(instance.name) has no output interface (add 'output { interface NAME; }')")
            }
            guard !instance.ingress.isEmpty || !instance.egress.isEmpty || !instance.firewallSelections.isEmpty else {
                throw ConfigError(location, "instance \(instance.name) has no ingress interface (add 'input { ingress { interface NAME; } }', or bind a firewall filter that mirrors to it)")
            }
        }
        let ingressOwner = try owners(config, "ingress", \.ingress, interpreter.ingressLocations)
        let egressOwner = try owners(config, "egress", \.egress, interpreter.egressLocations)
        var queuesOwner: [String: (instance: String, queues: OutputQueues)] = [:]
        for place in outputPlaces(config) {
            let instance = config.instances[place.instance], output = instance.outputs[place.position].interface
            let queues = instance.outputs[place.position].queues
            if let other = ingressOwner[output] ?? egressOwner[output] {
                throw ConfigError(interpreter.outputLocations[place.key]!,
                                  "interface \(output) is the output of instance \(instance.name) and \(ingressOwner[output] != nil ? "an ingress" : "an egress") of instance \(other): it would mirror its own mirrored frames")
            }
            if let unit = InterfaceUnit(output), unit.unit != 0 {
                throw ConfigError(interpreter.outputLocations[place.key]!,
                                  "output interface \(output) names unit \(unit.unit) of \(unit.port); an output is a whole interface")
            }
            if let other = queuesOwner[output], other.queues != queues {
                let location = interpreter.queuesLocations[place.key] ?? interpreter.outputLocations[place.key]!
                throw ConfigError(location, "output \(output) is given \(Self.describe(queues)) by instance \(instance.name) but \(Self.describe(other.queues)) by instance \(other.instance); instances sharing an output must agree on its queues")
            }
            queuesOwner[output] = (instance.name, queues)
        }
        var connected: [String: String] = [:]
        for crossConnect in config.dataplane.crossConnects {
            let location = interpreter.crossConnectLocations[crossConnect.name]!
            guard crossConnect.interfaces.count == 2 else {
                throw ConfigError(location, "cross-connect \(crossConnect.name) needs exactly two interfaces, has \(crossConnect.interfaces.count)")
            }
            for interface in crossConnect.interfaces {
                if let other = connected[interface] {
                    throw ConfigError(location, "interface \(interface) is in both cross-connect \(other) and cross-connect \(crossConnect.name)")
                }
                if let instance = config.instances.first(where: { $0.outputs.contains { $0.interface == interface } }) {
                    throw ConfigError(location, "interface \(interface) is forwarded by cross-connect \(crossConnect.name) and is the mirror output of instance \(instance.name)")
                }
                connected[interface] = crossConnect.name
            }
        }
        return config
    }

    /// Which instance mirrors each selector in one direction; refuses an interface in two
    /// instances, and a port mirrored whole beside its units (the rule table holds either).
    private func owners(_ config: SpanTapConfig, _ direction: String, _ selectors: KeyPath<MirrorInstance, [String]>,
                        _ locations: [String: SourceLocation]) throws(ConfigError) -> [String: String] {
        var owner: [String: String] = [:]
        var byPort: [String: (selector: String, instance: String)] = [:]
        for instance in config.instances {
            for selector in instance[keyPath: selectors] {
                let here = locations["\(instance.name)/\(selector)"]!
                let unit = InterfaceUnit(selector)!
                let canonical = unit.unit == 0 ? unit.port : selector
                if let other = owner[canonical] {
                    let first = locations["\(other)/\(selector)"] ?? locations["\(other)/\(unit.port)"] ?? here
                    throw ConfigError(here, "interface \(canonical) is an \(direction) of both instance \(other) (line \(first.line)) and instance \(instance.name); an interface can be mirrored by one instance only")
                }
                if let seen = byPort[unit.port], (InterfaceUnit(seen.selector)!.unit == 0) != (unit.unit == 0) {
                    throw ConfigError(here, "port \(unit.port) is an \(direction) both whole and by unit (\(seen.selector) in instance \(seen.instance), \(selector) in instance \(instance.name)); mirror either the whole port or its units")
                }
                owner[canonical] = instance.name
                byPort[unit.port] = (selector, instance.name)
            }
        }
        return owner
    }

    /// Several outputs: each named once, at most `maximumOutputs`, and no settings given to "the
    /// output" without saying which.
    private func checkFanOut(_ instance: MirrorInstance) throws(ConfigError) {
        guard instance.outputs.count > 1 else { return }
        let key = { (position: Int) in ConfigInterpreter.outputKey(.instance(instance.name), position, instance.outputs[position].interface) }
        if instance.outputs.count > MirrorInstance.maximumOutputs {
            throw ConfigError(interpreter.outputLocations[key(MirrorInstance.maximumOutputs)] ?? interpreter.instanceLocations[instance.name]!,
                              "instance \(instance.name) has \(instance.outputs.count) outputs; at most \(MirrorInstance.maximumOutputs)")
        }
        if let location = interpreter.unnamedSettingLocations[instance.name] {
            throw ConfigError(location, "instance \(instance.name) has \(instance.outputs.count) outputs; say whose setting this is: output { interface NAME { ... } }")
        }
        var seen = Set<String>()
        for position in instance.outputs.indices where !seen.insert(instance.outputs[position].interface).inserted {
            throw ConfigError(interpreter.outputLocations[key(position)] ?? interpreter.instanceLocations[instance.name]!,
                              "instance \(instance.name) names output \(instance.outputs[position].interface) twice (once from its next-hop-group)")
        }
    }

    /// Every output of every instance: where it is, the key of its locations, and how an error
    /// names it ("of instance span1" for an instance's only or first output).
    struct OutputPlace {
        let instance: Int
        let position: Int
        let key: String
        let phrase: String
    }

    func outputPlaces(_ config: SpanTapConfig) -> [OutputPlace] {
        config.instances.indices.flatMap { index in
            let instance = config.instances[index]
            return instance.outputs.indices.map { position in
                let interface = instance.outputs[position].interface
                return OutputPlace(instance: index, position: position,
                                   key: ConfigInterpreter.outputKey(.instance(instance.name), position, interface),
                                   phrase: (position == 0 ? "" : "\(interface) ") + "of instance \(instance.name)")
            }
        }
    }

    private static func describe(_ queues: OutputQueues) -> String {
        switch queues {
        case .auto: "queues auto"
        case .count(let count): "queues \(count)"
        }
    }
}
