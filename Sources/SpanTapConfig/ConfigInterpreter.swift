/// Turns statement paths into a `SpanTapConfig`, one grammar for both config forms:
///
///     forwarding-options port-mirroring mirror-once
///     forwarding-options port-mirroring instance NAME input rate N
///     forwarding-options port-mirroring instance NAME input run-length N
///     forwarding-options port-mirroring instance NAME input max-packets-per-second N
///     forwarding-options port-mirroring instance NAME input maximum-packet-length N
///     forwarding-options port-mirroring instance NAME input ingress interface IFNAME[.UNIT]
///     forwarding-options port-mirroring instance NAME input filter "TCPDUMP EXPRESSION"
///     forwarding-options port-mirroring instance NAME output ...  (ConfigInterpreter+Output.swift)
///     forwarding-options next-hop-group NAME interface IFNAME ...
///     forwarding-options analyzer NAME input (as an instance's, plus) egress interface IFNAME[.UNIT]
///     forwarding-options analyzer NAME output (as an instance's)
///     dataplane xdp-mode native|generic|auto
///     dataplane cpus LIST
///     dataplane cross-connect NAME interface IFNAME
///     sink ...  (ConfigInterpreter+Sink.swift)
///     firewall ..., interfaces ...  (ConfigInterpreter+Firewall.swift)
struct ConfigInterpreter {
    var config = SpanTapConfig()
    /// Where each instance / cross-connect / ingress was first named, for cross-statement errors.
    private(set) var instanceLocations: [String: SourceLocation] = [:]
    private(set) var ingressLocations: [String: SourceLocation] = [:]
    private(set) var egressLocations: [String: SourceLocation] = [:]
    var outputLocations: [String: SourceLocation] = [:]
    private(set) var crossConnectLocations: [String: SourceLocation] = [:]
    /// Where each instance's `vxlan` stanza was first written.
    var vxlanLocations: [String: SourceLocation] = [:]
    /// Where each instance's `erspan` / `gre` stanza was first written, and each of its fields.
    var greLocations: [String: SourceLocation] = [:]
    var greFieldLocations: [String: [String: SourceLocation]] = [:]
    /// Outputs of `forwarding-options next-hop-group NAME`, and which instance's output names which group.
    var nextHopGroups: [String: (location: SourceLocation, outputs: [MirrorOutput])] = [:]
    var groupReferences: [String: LocatedWord] = [:]
    /// Where an instance gave settings to "its output" without naming one (`output { erspan {...} }`),
    /// which says nothing once it has several.
    var unnamedSettingLocations: [String: SourceLocation] = [:]
    /// Where an instance set its output's queues, to name both when two instances disagree.
    var queuesLocations: [String: SourceLocation] = [:]
    /// Each instance's `input filter` as written; compiled by the validator, which knows the snap length.
    private(set) var filterExpressions: [String: LocatedWord] = [:]
    var firewallFilters: [FirewallFilter] = []
    var firewallBindings: [FirewallBinding] = []

    mutating func apply(_ path: [LocatedWord]) throws(ConfigError) {
        var cursor = PathCursor(path)
        switch try cursor.keyword(["forwarding-options", "dataplane", "sink", "firewall", "interfaces"]) {
        case "forwarding-options":
            let section = try cursor.keyword(["port-mirroring", "analyzer", "next-hop-group"])
            if section == "next-hop-group" {
                try applyNextHopGroup(&cursor)
            } else if section == "analyzer" {
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
            var outputs = config.instances[index].outputs
            try applyOutput(&cursor, to: &outputs, owner: .instance(name.text))
            config.instances[index].outputs = outputs
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

    static func interfaceName(_ word: LocatedWord) throws(ConfigError) -> LocatedWord {
        if let problem = NameRules.interfaceNameProblem(word.text) { throw ConfigError(word.location, problem) }
        return word
    }

    static func name(_ word: LocatedWord, kind: String) throws(ConfigError) -> LocatedWord {
        if let problem = NameRules.nameProblem(word.text, kind: kind) { throw ConfigError(word.location, problem) }
        return word
    }
}
