/// Turns statement paths into a `SpanTapConfig`, one grammar for both config forms:
///
///     forwarding-options port-mirroring mirror-once
///     forwarding-options port-mirroring instance NAME input rate N
///     forwarding-options port-mirroring instance NAME input run-length N
///     forwarding-options port-mirroring instance NAME input max-packets-per-second N
///     forwarding-options port-mirroring instance NAME input maximum-packet-length N
///     forwarding-options port-mirroring instance NAME input ingress interface IFNAME[.UNIT]
///     forwarding-options port-mirroring instance NAME input filter "TCPDUMP EXPRESSION"
///     forwarding-options port-mirroring instance NAME output interface IFNAME
///     forwarding-options port-mirroring instance NAME output persistent
///     forwarding-options port-mirroring instance NAME output queues N|auto
///     forwarding-options port-mirroring instance NAME output vxlan remote|vni|local|dstport VALUE
///     forwarding-options port-mirroring instance NAME output erspan|gre ...  (ConfigInterpreter+GRE.swift)
///     forwarding-options analyzer NAME input (as an instance's, plus) egress interface IFNAME[.UNIT]
///     forwarding-options analyzer NAME output (as an instance's)
///     dataplane xdp-mode native|generic|auto
///     dataplane cpus LIST
///     dataplane cross-connect NAME interface IFNAME
///     sink ...  (ConfigInterpreter+Sink.swift)
///     firewall ..., interfaces ...  (ConfigInterpreter+Firewall.swift)
struct ConfigInterpreter {
    private(set) var config = SpanTapConfig()
    /// Where each instance / cross-connect / ingress was first named, for cross-statement errors.
    private(set) var instanceLocations: [String: SourceLocation] = [:]
    private(set) var ingressLocations: [String: SourceLocation] = [:]
    private(set) var egressLocations: [String: SourceLocation] = [:]
    private(set) var outputLocations: [String: SourceLocation] = [:]
    private(set) var crossConnectLocations: [String: SourceLocation] = [:]
    /// Where each instance's `vxlan` stanza was first written.
    private(set) var vxlanLocations: [String: SourceLocation] = [:]
    /// Where each instance's `erspan` / `gre` stanza was first written, and each of its fields.
    private(set) var greLocations: [String: SourceLocation] = [:]
    private(set) var greFieldLocations: [String: [String: SourceLocation]] = [:]
    /// Where an instance set its output's queues, to name both when two instances disagree.
    private(set) var queuesLocations: [String: SourceLocation] = [:]
    /// Each instance's `input filter` as written; compiled by the validator, which knows the snap length.
    private(set) var filterExpressions: [String: LocatedWord] = [:]
    var firewallFilters: [FirewallFilter] = []
    var firewallBindings: [FirewallBinding] = []

    mutating func apply(_ path: [LocatedWord]) throws(ConfigError) {
        var cursor = PathCursor(path)
        switch try cursor.keyword(["forwarding-options", "dataplane", "sink", "firewall", "interfaces"]) {
        case "forwarding-options":
            if try cursor.keyword(["port-mirroring", "analyzer"]) == "analyzer" {
                try applyInstance(&cursor, kind: .analyzer)
            } else if try cursor.keyword(["instance", "mirror-once"]) == "mirror-once" {
                config.mirrorOnce = true
            } else {
                try applyInstance(&cursor, kind: .portMirroring)
            }
        case "sink":
            try Self.applySink(&cursor, to: &config.sink)
        case "firewall":
            try applyFirewall(&cursor)
        case "interfaces":
            try applyInterfaces(&cursor)
        default:
            try applyDataplane(&cursor)
        }
        try cursor.end()
    }

    private mutating func applyInstance(_ cursor: inout PathCursor, kind: MirrorInstance.Kind) throws(ConfigError) {
        let name = try Self.name(cursor.value(kind == .analyzer ? "analyzer name" : "instance name"), kind: "instance")
        if instanceLocations[name.text] == nil {
            instanceLocations[name.text] = name.location
            config.instances.append(MirrorInstance(name: name.text, kind: kind, ingress: [], output: MirrorOutput(interface: "")))
        }
        let index = config.instances.firstIndex { $0.name == name.text }!
        guard config.instances[index].kind == kind else {
            throw ConfigError(name.location, "\(name.text) is already a \(config.instances[index].kind.rawValue) instance (line \(instanceLocations[name.text]!.line)); "
                + "a port-mirroring instance and an analyzer need different names")
        }
        switch try cursor.keyword(["input", "output"]) {
        case "input":
            let selectors = kind == .analyzer ? ["ingress", "egress"] : ["ingress"]
            switch try cursor.keyword(["rate", "run-length", "max-packets-per-second", "maximum-packet-length", "filter"] + selectors) {
            case "rate":
                config.instances[index].rate = try Self.number(cursor.value("rate value"), what: "rate", in: 0...UInt32.max)
            case "run-length":
                config.instances[index].runLength = UInt16(try Self.number(cursor.value("run length"), what: "run-length", in: 0...20))
            case "max-packets-per-second":
                config.instances[index].maxPacketsPerSecond = try Self.number(cursor.value("packets per second"),
                                                                              what: "max-packets-per-second", in: 0...UInt32.max)
            case "maximum-packet-length":
                let length = try Self.number(cursor.value("length"), what: "maximum-packet-length", in: 0...65535)
                config.instances[index].maximumPacketLength = length == 0 ? nil : Int(length)
            case "filter":
                let expression = try cursor.value("filter expression (a tcpdump expression in double quotes)")
                if cursor.position < cursor.words.count {
                    throw ConfigError(expression.location, "a filter expression of several words must be in double quotes: filter \"\(cursor.words[(cursor.position - 1)...].map(\.text).joined(separator: " "))\"")
                }
                guard !expression.text.allSatisfy(\.isWhitespace) else {
                    throw ConfigError(expression.location, "empty filter expression (remove the statement to mirror every frame)")
                }
                filterExpressions[name.text] = expression
            case "ingress":
                let interface = try Self.selector(&cursor)
                if !config.instances[index].ingress.contains(interface.text) {
                    config.instances[index].ingress.append(interface.text)
                    ingressLocations["\(name.text)/\(interface.text)"] = interface.location
                }
            default:
                let interface = try Self.selector(&cursor)
                if !config.instances[index].egress.contains(interface.text) {
                    config.instances[index].egress.append(interface.text)
                    egressLocations["\(name.text)/\(interface.text)"] = interface.location
                }
            }
        default:
            switch try cursor.keyword(["interface", "persistent", "queues", "vxlan", "erspan", "gre"]) {
            case "interface":
                let interface = try Self.interfaceName(cursor.value("interface name"))
                config.instances[index].output.interface = interface.text
                outputLocations[name.text] = interface.location
            case "queues":
                let word = try cursor.value("queue count")
                config.instances[index].output.queues = try Self.queues(word)
                queuesLocations[name.text] = word.location
            case "persistent":
                config.instances[index].output.persistent = true
            case "erspan", "gre":
                let stanza = cursor.words[cursor.position - 1]
                if greLocations[name.text] == nil { greLocations[name.text] = stanza.location }
                var tunnel = config.instances[index].output.gre ?? GRETunnel(
                    remote: "", encapsulation: stanza.text == "erspan" ? .erspan(GRETunnel.ERSPAN()) : .gre(key: nil, sequenceNumbers: false))
                guard tunnel.kind == stanza.text else {
                    throw ConfigError(stanza.location, "the output of instance \(name.text) is already a \(tunnel.kind) output (line \(greLocations[name.text]!.line)); an output is one of erspan or gre")
                }
                let field = try Self.applyGRE(&cursor, to: &tunnel)
                greFieldLocations[name.text, default: [:]][field] = cursor.words[cursor.position - (field == "sequence" ? 1 : 2)].location
                config.instances[index].output.gre = tunnel
            default:
                if vxlanLocations[name.text] == nil { vxlanLocations[name.text] = cursor.lastWordLocation }
                // Without `interface`, the stanza itself names the output (stv<vni>).
                if outputLocations[name.text] == nil { outputLocations[name.text] = cursor.lastWordLocation }
                var tunnel = config.instances[index].output.vxlan ?? VXLANTunnel(remote: "", vni: 0)
                try Self.applyVXLAN(&cursor, to: &tunnel)
                config.instances[index].output.vxlan = tunnel
            }
        }
    }

    private mutating func applyDataplane(_ cursor: inout PathCursor) throws(ConfigError) {
        switch try cursor.keyword(["xdp-mode", "cpus", "cross-connect"]) {
        case "cpus":
            config.dataplane.cpus = try Self.cpuList(cursor.value("CPU list"))
        case "xdp-mode":
            let word = try cursor.value("xdp mode")
            guard let mode = Dataplane.XDPMode(rawValue: word.text) else {
                throw ConfigError(word.location, "xdp-mode must be native, generic or auto, not '\(word.text)'")
            }
            config.dataplane.xdpMode = mode
        default:
            let name = try Self.name(cursor.value("cross-connect name"), kind: "cross-connect")
            if crossConnectLocations[name.text] == nil {
                crossConnectLocations[name.text] = name.location
                config.dataplane.crossConnects.append(Dataplane.CrossConnect(name: name.text, interfaces: []))
            }
            let index = config.dataplane.crossConnects.firstIndex { $0.name == name.text }!
            _ = try cursor.keyword(["interface"])
            let interface = try Self.interfaceName(cursor.value("interface name"))
            guard config.dataplane.crossConnects[index].interfaces.count < 2 else {
                throw ConfigError(interface.location, "cross-connect \(name.text) already joins two interfaces; '\(interface.text)' would be a third")
            }
            if !config.dataplane.crossConnects[index].interfaces.contains(interface.text) {
                config.dataplane.crossConnects[index].interfaces.append(interface.text)
            }
        }
    }

    static func number(_ word: LocatedWord, what: String, in range: ClosedRange<UInt32>) throws(ConfigError) -> UInt32 {
        guard let value = UInt32(word.text), range.contains(value) else {
            throw ConfigError(word.location, "\(what) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(word.text)'")
        }
        return value
    }

    /// `interface IFNAME[.UNIT]` under `ingress` or `egress`: the port's name follows the
    /// kernel's rules (a unit's `.UNIT` is not part of it), the unit is a VLAN id.
    private static func selector(_ cursor: inout PathCursor) throws(ConfigError) -> LocatedWord {
        _ = try cursor.keyword(["interface"])
        let interface = try cursor.value("interface name")
        guard let unit = InterfaceUnit(interface.text) else {
            throw ConfigError(interface.location, "'\(interface.text)' names unit \(interface.text.split(separator: ".").last ?? "") "
                + "of \(interface.text.split(separator: ".").dropLast().joined(separator: ".")); a unit is a VLAN id, 1 to 4094")
        }
        if let problem = NameRules.interfaceNameProblem(unit.unit == 0 ? interface.text : unit.port) {
            throw ConfigError(interface.location, problem)
        }
        return interface
    }

    private static func interfaceName(_ word: LocatedWord) throws(ConfigError) -> LocatedWord {
        if let problem = NameRules.interfaceNameProblem(word.text) { throw ConfigError(word.location, problem) }
        return word
    }

    static func name(_ word: LocatedWord, kind: String) throws(ConfigError) -> LocatedWord {
        if let problem = NameRules.nameProblem(word.text, kind: kind) { throw ConfigError(word.location, problem) }
        return word
    }
}
