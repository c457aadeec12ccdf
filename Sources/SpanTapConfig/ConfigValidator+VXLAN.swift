extension ConfigValidator {
    /// Completes every `vxlan` output (its device name: `interface`, else `stv<vni>`) and refuses
    /// what the kernel would refuse later, or what would make one device mean two things: the
    /// kernel allows one VXLAN device per VNI and port, so outputs naming the same VNI or the
    /// same device share that device and must describe it identically.
    func resolvingVXLAN(_ config: SpanTapConfig) throws(ConfigError) -> SpanTapConfig {
        var config = config
        var tunnels: [(output: MirrorOutput, place: OutputPlace)] = []
        for place in outputPlaces(config) {
            let output = config.instances[place.instance].outputs[place.position]
            guard let tunnel = output.vxlan else { continue }
            let location = interpreter.vxlanLocations[place.key]!
            guard !tunnel.remote.isEmpty else {
                throw ConfigError(location, "vxlan output \(place.phrase) has no remote (add 'remote ADDRESS;')")
            }
            guard tunnel.vni != 0 else {
                throw ConfigError(location, "vxlan output \(place.phrase) has no VNI (add 'vni N;', 1 to 16777215)")
            }
            if let local = tunnel.local, local.contains(":") != tunnel.isIPv6 {
                throw ConfigError(location, "vxlan output \(place.phrase): local \(local) and remote \(tunnel.remote) are not of the same address family")
            }
            if output.interface.isEmpty {
                config.instances[place.instance].outputs[place.position].interface = tunnel.defaultInterfaceName
            }
            let named = config.instances[place.instance].outputs[place.position]
            let sharing = tunnels.first { $0.output.vxlan!.vni == tunnel.vni || $0.output.interface == named.interface }
            if let sharing, sharing.output.vxlan != tunnel || sharing.output.interface != named.interface {
                let first = interpreter.vxlanLocations[sharing.place.key]!
                throw ConfigError(location, "instance \(config.instances[place.instance].name) uses VNI \(tunnel.vni) or device \(named.interface) like instance \(config.instances[sharing.place.instance].name) (line \(first.line)) but with other vxlan settings; the kernel allows one VXLAN device per VNI and port, so instances sharing one must give the same remote, local, dstport and interface")
            }
            tunnels.append((named, place))
        }
        for place in outputPlaces(config) {
            let output = config.instances[place.instance].outputs[place.position]
            guard output.vxlan == nil, let owner = tunnels.first(where: { $0.output.interface == output.interface }) else { continue }
            throw ConfigError(interpreter.outputLocations[place.key]!,
                              "interface \(output.interface) is the vxlan output of instance \(config.instances[owner.place.instance].name); instance \(config.instances[place.instance].name) cannot also use it as a plain interface output")
        }
        return config
    }
}
