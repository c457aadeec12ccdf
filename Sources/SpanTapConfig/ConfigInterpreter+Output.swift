/// An instance's outputs, and `next-hop-group`s of outputs:
///
///     ... output interface IFNAME                          one output (or one more: fan-out)
///     ... output interface IFNAME persistent|queues N|vxlan ...|erspan ...|gre ...
///                                                          that output's settings
///     ... output persistent|queues N|vxlan ...|erspan ...|gre ...
///                                                          the settings of the instance's one output
///     ... output next-hop-group NAME                       every output of the group
///     forwarding-options next-hop-group NAME interface IFNAME [settings as above]
///
/// Locations are kept per output under `outputKey`, so the validator can point at the statement
/// that made each output what it is.
extension ConfigInterpreter {
    enum OutputOwner {
        case instance(String)
        case group(String)
    }

    /// The key of output `position` (named `interface`) of `owner` in the location tables: an
    /// instance's first output goes by the instance's name (what an instance with one output
    /// always had), every other by `owner/interface`.
    static func outputKey(_ owner: OutputOwner, _ position: Int, _ interface: String) -> String {
        switch owner {
        case .instance(let name): position == 0 ? name : "\(name)/\(interface)"
        case .group(let name): "next-hop-group \(name)/\(interface)"
        }
    }

    mutating func applyOutput(_ cursor: inout PathCursor, to outputs: inout [MirrorOutput], owner: OutputOwner) throws(ConfigError) {
        let settings = ["persistent", "queues", "vxlan", "erspan", "gre"]
        let keyword: String
        switch owner {
        case .instance: keyword = try cursor.keyword(["interface", "next-hop-group"] + settings)
        case .group: keyword = try cursor.keyword(["interface"])
        }
        switch keyword {
        case "interface":
            let interface = try Self.interfaceName(cursor.value("interface name"))
            let position: Int
            if let named = outputs.firstIndex(where: { $0.interface == interface.text }) {
                position = named
            } else if outputs.first?.interface.isEmpty == true {
                outputs[0].interface = interface.text  // `output { interface X; vxlan {...} }` in any order
                position = 0
            } else {
                outputs.append(MirrorOutput(interface: interface.text))
                position = outputs.count - 1
            }
            let key = Self.outputKey(owner, position, interface.text)
            if outputLocations[key] == nil { outputLocations[key] = interface.location }
            guard cursor.position < cursor.words.count else { return }
            try applySetting(cursor.keyword(settings), &cursor, to: &outputs[position], key: key)
        case "next-hop-group":
            guard case .instance(let instance) = owner else { return }
            groupReferences[instance] = try Self.name(cursor.value("next-hop-group name"), kind: "next-hop-group")
        default:
            guard case .instance(let instance) = owner else { return }
            if unnamedSettingLocations[instance] == nil { unnamedSettingLocations[instance] = cursor.lastWordLocation }
            try applySetting(keyword, &cursor, to: &outputs[0], key: Self.outputKey(owner, 0, outputs[0].interface))
        }
    }

    ///     forwarding-options next-hop-group NAME interface IFNAME [settings]
    mutating func applyNextHopGroup(_ cursor: inout PathCursor) throws(ConfigError) {
        let name = try Self.name(cursor.value("next-hop-group name"), kind: "next-hop-group")
        var outputs = nextHopGroups[name.text]?.outputs ?? []
        let location = nextHopGroups[name.text]?.location ?? name.location
        try applyOutput(&cursor, to: &outputs, owner: .group(name.text))
        nextHopGroups[name.text] = (location, outputs)
    }

    private mutating func applySetting(_ keyword: String, _ cursor: inout PathCursor, to output: inout MirrorOutput,
                                       key: String) throws(ConfigError) {
        switch keyword {
        case "queues":
            let word = try cursor.value("queue count")
            output.queues = try Self.queues(word)
            queuesLocations[key] = word.location
        case "persistent":
            output.persistent = true
        case "erspan", "gre":
            let stanza = cursor.words[cursor.position - 1]
            if greLocations[key] == nil { greLocations[key] = stanza.location }
            var tunnel = output.gre ?? GRETunnel(
                remote: "", encapsulation: stanza.text == "erspan" ? .erspan(GRETunnel.ERSPAN()) : .gre(key: nil, sequenceNumbers: false))
            guard tunnel.kind == stanza.text else {
                throw ConfigError(stanza.location, "output \(output.interface.isEmpty ? "" : "\(output.interface) ")is already a \(tunnel.kind) output (line \(greLocations[key]!.line)); an output is one of erspan or gre")
            }
            let field = try Self.applyGRE(&cursor, to: &tunnel)
            greFieldLocations[key, default: [:]][field] = cursor.words[cursor.position - (field == "sequence" ? 1 : 2)].location
            output.gre = tunnel
        default:
            if vxlanLocations[key] == nil { vxlanLocations[key] = cursor.lastWordLocation }
            // Without `interface`, the stanza itself names the output (stv<vni>).
            if outputLocations[key] == nil { outputLocations[key] = cursor.lastWordLocation }
            var tunnel = output.vxlan ?? VXLANTunnel(remote: "", vni: 0)
            try Self.applyVXLAN(&cursor, to: &tunnel)
            output.vxlan = tunnel
        }
    }

    /// Puts each referenced group's outputs after the instance's own (or in place of its
    /// placeholder, when it names none), with their locations under the instance's keys.
    mutating func resolveNextHopGroups() throws(ConfigError) {
        for index in config.instances.indices {
            let instance = config.instances[index].name
            guard let reference = groupReferences[instance] else { continue }
            guard let group = nextHopGroups[reference.text] else {
                throw ConfigError(reference.location, "no next-hop-group \(reference.text) (define it: forwarding-options next-hop-group \(reference.text) { interface NAME; ... })")
            }
            if config.instances[index].outputs == [MirrorOutput(interface: "")] { config.instances[index].outputs = [] }
            for output in group.outputs {
                let position = config.instances[index].outputs.count
                let from = Self.outputKey(.group(reference.text), 0, output.interface)
                let to = Self.outputKey(.instance(instance), position, output.interface)
                outputLocations[to] = outputLocations[from]
                queuesLocations[to] = queuesLocations[from]
                vxlanLocations[to] = vxlanLocations[from]
                greLocations[to] = greLocations[from]
                greFieldLocations[to] = greFieldLocations[from]
                config.instances[index].outputs.append(output)
            }
        }
    }
}
