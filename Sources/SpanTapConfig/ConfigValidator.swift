/// Checks that span statements: every instance complete, each ingress mirrored once, no output
/// that is also an ingress (it would mirror its own mirror), cross-connects of exactly two ports.
struct ConfigValidator {
    let interpreter: ConfigInterpreter

    func validated() throws(ConfigError) -> SpanTapConfig {
        let config = interpreter.config
        var ingressOwner: [String: String] = [:]
        for instance in config.instances {
            let location = interpreter.instanceLocations[instance.name]!
            guard !instance.output.interface.isEmpty else {
                throw ConfigError(location, "instance \(instance.name) has no output interface (add 'output { interface NAME; }')")
            }
            guard !instance.ingress.isEmpty else {
                throw ConfigError(location, "instance \(instance.name) has no ingress interface (add 'input { ingress { interface NAME; } }')")
            }
            for interface in instance.ingress {
                if let other = ingressOwner[interface] {
                    let first = interpreter.ingressLocations["\(other)/\(interface)"]!
                    throw ConfigError(interpreter.ingressLocations["\(instance.name)/\(interface)"]!,
                                      "interface \(interface) is an ingress of both instance \(other) (line \(first.line)) and instance \(instance.name); an interface can be mirrored by one instance only")
                }
                ingressOwner[interface] = instance.name
            }
        }
        for instance in config.instances {
            if let other = ingressOwner[instance.output.interface] {
                throw ConfigError(interpreter.outputLocations[instance.name]!,
                                  "interface \(instance.output.interface) is the output of instance \(instance.name) and an ingress of instance \(other): it would mirror its own mirrored frames")
            }
        }
        var queuesOwner: [String: MirrorInstance] = [:]
        for instance in config.instances {
            if let other = queuesOwner[instance.output.interface], other.output.queues != instance.output.queues {
                let location = interpreter.queuesLocations[instance.name] ?? interpreter.outputLocations[instance.name]!
                throw ConfigError(location, "output \(instance.output.interface) is given \(Self.describe(instance.output.queues)) by instance \(instance.name) but \(Self.describe(other.output.queues)) by instance \(other.name); instances sharing an output must agree on its queues")
            }
            queuesOwner[instance.output.interface] = instance
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
                if let instance = config.instances.first(where: { $0.output.interface == interface }) {
                    throw ConfigError(location, "interface \(interface) is forwarded by cross-connect \(crossConnect.name) and is the mirror output of instance \(instance.name)")
                }
                connected[interface] = crossConnect.name
            }
        }
        return config
    }

    private static func describe(_ queues: OutputQueues) -> String {
        switch queues {
        case .auto: "queues auto"
        case .count(let count): "queues \(count)"
        }
    }
}
