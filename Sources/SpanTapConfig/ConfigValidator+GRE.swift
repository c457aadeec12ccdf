extension ConfigValidator {
    /// Refuses an `erspan` / `gre` output that is incomplete, sets a field its ERSPAN version has
    /// no room for, asks for what only a TAP has, or means two things under one name.
    func checkingGRE(_ config: SpanTapConfig) throws(ConfigError) {
        let places = outputPlaces(config)
        let output = { (place: OutputPlace) in config.instances[place.instance].outputs[place.position] }
        for place in places {
            guard let tunnel = output(place).gre else { continue }
            let location = interpreter.greLocations[place.key]!
            let fields = interpreter.greFieldLocations[place.key] ?? [:]
            let what = "\(tunnel.kind) output \(place.phrase)"
            guard output(place).vxlan == nil else {
                throw ConfigError(location, "\(what) also has vxlan; an output is one of vxlan, erspan or gre")
            }
            guard !tunnel.remote.isEmpty else {
                throw ConfigError(location, "\(what) has no remote (add 'remote ADDRESS;')")
            }
            if let local = tunnel.local, local.contains(":") != tunnel.isIPv6 {
                throw ConfigError(fields["local"] ?? location, "\(what): local \(local) and remote \(tunnel.remote) are not of the same address family")
            }
            guard !output(place).interface.isEmpty else {
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
            if let queues = interpreter.queuesLocations[place.key] {
                throw ConfigError(queues, "\(what): queues are a TAP's; a remote output has none")
            }
            if output(place).persistent {
                throw ConfigError(location, "\(what): persistent keeps a device spantapd made, and a remote output has none")
            }
        }
        for (index, place) in places.enumerated() {
            let mine = output(place)
            for other in places[..<index] where output(other).interface == mine.interface && output(other) != mine
                && (mine.gre != nil || output(other).gre != nil) {
                throw ConfigError(interpreter.greLocations[place.key] ?? interpreter.outputLocations[place.key]!,
                                  "instance \(config.instances[place.instance].name) names output \(mine.interface) like instance \(config.instances[other.instance].name) but with other settings; instances sharing an output must describe it the same way")
            }
        }
    }
}
