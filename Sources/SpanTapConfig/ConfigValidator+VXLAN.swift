extension ConfigValidator {
    /// Completes every `vxlan` output (its device name: `interface`, else `stv<vni>`) and refuses
    /// what the kernel would refuse later, or what would make one device mean two things: the
    /// kernel allows one VXLAN device per VNI and port, so instances naming the same VNI or the
    /// same device share that device and must describe it identically.
    func resolvingVXLAN(_ config: SpanTapConfig) throws(ConfigError) -> SpanTapConfig {
        var config = config
        for index in config.instances.indices {
            let instance = config.instances[index]
            guard let tunnel = instance.output.vxlan else { continue }
            let location = interpreter.vxlanLocations[instance.name]!
            guard !tunnel.remote.isEmpty else {
                throw ConfigError(location, "vxlan output of instance \(instance.name) has no remote (add 'remote ADDRESS;')")
            }
            guard tunnel.vni != 0 else {
                throw ConfigError(location, "vxlan output of instance \(instance.name) has no VNI (add 'vni N;', 1 to 16777215)")
            }
            if let local = tunnel.local, local.contains(":") != tunnel.isIPv6 {
                throw ConfigError(location, "vxlan output of instance \(instance.name): local \(local) and remote \(tunnel.remote) are not of the same address family")
            }
            if instance.output.interface.isEmpty {
                config.instances[index].output.interface = tunnel.defaultInterfaceName
            }
            let output = config.instances[index].output
            let sharing = config.instances[..<index].first {
                guard let other = $0.output.vxlan else { return false }
                return other.vni == tunnel.vni || $0.output.interface == output.interface
            }
            if let sharing, sharing.output.vxlan != tunnel || sharing.output.interface != output.interface {
                let first = interpreter.vxlanLocations[sharing.name]!
                throw ConfigError(location, "instance \(instance.name) uses VNI \(tunnel.vni) or device \(output.interface) like instance \(sharing.name) (line \(first.line)) but with other vxlan settings; the kernel allows one VXLAN device per VNI and port, so instances sharing one must give the same remote, local, dstport and interface")
            }
        }
        for instance in config.instances where instance.output.vxlan == nil {
            if let owner = config.instances.first(where: { $0.output.vxlan != nil && $0.output.interface == instance.output.interface }) {
                throw ConfigError(interpreter.outputLocations[instance.name]!,
                                  "interface \(instance.output.interface) is the vxlan output of instance \(owner.name); instance \(instance.name) cannot also use it as a plain interface output")
            }
        }
        return config
    }
}
