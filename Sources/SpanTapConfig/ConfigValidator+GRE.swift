extension ConfigValidator {
    /// Refuses an `erspan` / `gre` output that is incomplete, sets a field its ERSPAN version has
    /// no room for, asks for what only a TAP has, or means two things under one name.
    func checkingGRE(_ config: SpanTapConfig) throws(ConfigError) -> SpanTapConfig {
        for (position, instance) in config.instances.enumerated() {
            guard let tunnel = instance.output.gre else { continue }
            let location = interpreter.greLocations[instance.name]!
            let fields = interpreter.greFieldLocations[instance.name] ?? [:]
            let what = "\(tunnel.kind) output of instance \(instance.name)"
            guard instance.output.vxlan == nil else {
                throw ConfigError(location, "the output of instance \(instance.name) has both vxlan and \(tunnel.kind); an output is one of vxlan, erspan or gre")
            }
            guard !tunnel.remote.isEmpty else {
                throw ConfigError(location, "\(what) has no remote (add 'remote ADDRESS;')")
            }
            if let local = tunnel.local, local.contains(":") != tunnel.isIPv6 {
                throw ConfigError(fields["local"] ?? location, "\(what): local \(local) and remote \(tunnel.remote) are not of the same address family")
            }
            guard !instance.output.interface.isEmpty else {
                throw ConfigError(location, "\(what) has no name (add 'interface NAME;': it names the output in status and metrics; no device is created)")
            }
            if case .erspan(let erspan) = tunnel.encapsulation {
                guard fields["session-id"] != nil else {
                    throw ConfigError(location, "\(what) has no session-id (add 'session-id N;', 0 to 1023: the collector tells sessions apart by it)")
                }
                if erspan.version == 3, let index = fields["index"] {
                    throw ConfigError(index, "\(what): index is a field of ERSPAN Type II (version 2); Type III has none (it has hardware-id)")
                }
                if erspan.version == 2, let hardwareID = fields["hardware-id"] {
                    throw ConfigError(hardwareID, "\(what): hardware-id is a field of ERSPAN Type III (version 3); Type II has none (it has index)")
                }
            }
            if let queues = interpreter.queuesLocations[instance.name] {
                throw ConfigError(queues, "\(what): queues are a TAP's; a remote output has none")
            }
            if instance.output.persistent {
                throw ConfigError(location, "\(what): persistent keeps a device spantapd made, and a remote output has none")
            }
            for other in config.instances[..<position] where other.output.interface == instance.output.interface && other.output != instance.output {
                throw ConfigError(location, "instance \(instance.name) names output \(instance.output.interface) like instance \(other.name) but with other settings; instances sharing an output must describe it the same way")
            }
        }
        for instance in config.instances where instance.output.gre == nil {
            if let owner = config.instances.first(where: { $0.output.gre != nil && $0.output.interface == instance.output.interface }) {
                throw ConfigError(interpreter.outputLocations[instance.name]!,
                                  "\(instance.output.interface) is the \(owner.output.gre!.kind) output of instance \(owner.name); instance \(instance.name) cannot also use it as another kind of output")
            }
        }
        return config
    }
}
