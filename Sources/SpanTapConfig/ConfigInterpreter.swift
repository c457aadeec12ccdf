/// Turns statement paths into a `SpanTapConfig`, one grammar for both config forms:
///
///     forwarding-options port-mirroring instance NAME input rate N
///     forwarding-options port-mirroring instance NAME input maximum-packet-length N
///     forwarding-options port-mirroring instance NAME input ingress interface IFNAME
///     forwarding-options port-mirroring instance NAME output interface IFNAME
///     forwarding-options port-mirroring instance NAME output persistent
///     forwarding-options port-mirroring instance NAME output queues N|auto
///     dataplane xdp-mode native|generic|auto
///     dataplane cross-connect NAME interface IFNAME
///     sink ...  (ConfigInterpreter+Sink.swift)
struct ConfigInterpreter {
    private(set) var config = SpanTapConfig()
    /// Where each instance / cross-connect / ingress was first named, for cross-statement errors.
    private(set) var instanceLocations: [String: SourceLocation] = [:]
    private(set) var ingressLocations: [String: SourceLocation] = [:]
    private(set) var outputLocations: [String: SourceLocation] = [:]
    private(set) var crossConnectLocations: [String: SourceLocation] = [:]
    /// Where an instance set its output's queues, to name both when two instances disagree.
    private(set) var queuesLocations: [String: SourceLocation] = [:]

    mutating func apply(_ path: [LocatedWord]) throws(ConfigError) {
        var cursor = PathCursor(path)
        switch try cursor.keyword(["forwarding-options", "dataplane", "sink"]) {
        case "forwarding-options":
            _ = try cursor.keyword(["port-mirroring"])
            _ = try cursor.keyword(["instance"])
            try applyInstance(&cursor)
        case "sink":
            try Self.applySink(&cursor, to: &config.sink)
        default:
            try applyDataplane(&cursor)
        }
        try cursor.end()
    }

    private mutating func applyInstance(_ cursor: inout PathCursor) throws(ConfigError) {
        let name = try Self.name(cursor.value("instance name"), kind: "instance")
        if instanceLocations[name.text] == nil {
            instanceLocations[name.text] = name.location
            config.instances.append(MirrorInstance(name: name.text, ingress: [], output: MirrorOutput(interface: "")))
        }
        let index = config.instances.firstIndex { $0.name == name.text }!
        switch try cursor.keyword(["input", "output"]) {
        case "input":
            switch try cursor.keyword(["rate", "maximum-packet-length", "ingress"]) {
            case "rate":
                config.instances[index].rate = try Self.number(cursor.value("rate value"), what: "rate", in: 0...UInt32.max)
            case "maximum-packet-length":
                let length = try Self.number(cursor.value("length"), what: "maximum-packet-length", in: 0...65535)
                config.instances[index].maximumPacketLength = length == 0 ? nil : Int(length)
            default:
                _ = try cursor.keyword(["interface"])
                let interface = try Self.interfaceName(cursor.value("interface name"))
                if !config.instances[index].ingress.contains(interface.text) {
                    config.instances[index].ingress.append(interface.text)
                    ingressLocations["\(name.text)/\(interface.text)"] = interface.location
                }
            }
        default:
            switch try cursor.keyword(["interface", "persistent", "queues"]) {
            case "interface":
                let interface = try Self.interfaceName(cursor.value("interface name"))
                config.instances[index].output.interface = interface.text
                outputLocations[name.text] = interface.location
            case "queues":
                let word = try cursor.value("queue count")
                config.instances[index].output.queues = try Self.queues(word)
                queuesLocations[name.text] = word.location
            default:
                config.instances[index].output.persistent = true
            }
        }
    }

    private mutating func applyDataplane(_ cursor: inout PathCursor) throws(ConfigError) {
        switch try cursor.keyword(["xdp-mode", "cross-connect"]) {
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

    private static func number(_ word: LocatedWord, what: String, in range: ClosedRange<UInt32>) throws(ConfigError) -> UInt32 {
        guard let value = UInt32(word.text), range.contains(value) else {
            throw ConfigError(word.location, "\(what) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(word.text)'")
        }
        return value
    }

    private static func interfaceName(_ word: LocatedWord) throws(ConfigError) -> LocatedWord {
        if let problem = NameRules.interfaceNameProblem(word.text) { throw ConfigError(word.location, problem) }
        return word
    }

    private static func name(_ word: LocatedWord, kind: String) throws(ConfigError) -> LocatedWord {
        if let problem = NameRules.nameProblem(word.text, kind: kind) { throw ConfigError(word.location, problem) }
        return word
    }
}
