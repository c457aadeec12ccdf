/// The Junos firewall-filter statements:
///
///     firewall family inet|inet6 filter NAME term T from protocol|next-header VALUES
///     firewall family inet|inet6 filter NAME term T from source-address|destination-address|address PREFIX
///     firewall family inet|inet6 filter NAME term T from source-port|destination-port|port VALUES
///     firewall family inet|inet6 filter NAME term T then port-mirror | port-mirror-instance NAME | accept | discard
///     interfaces IF unit N family inet|inet6 filter input|output NAME
///
/// VALUES is one value or a Junos list `[ a b c ]`; a port or protocol value is a number, a range
/// `low-high` or a name (`https`, `tcp`). Any other condition or action is refused where it is written.
extension ConfigInterpreter {
    mutating func applyFirewall(_ cursor: inout PathCursor) throws(ConfigError) {
        _ = try cursor.keyword(["family"])
        let family = FirewallFilter.Family(rawValue: try cursor.keyword(["inet", "inet6"]))!
        _ = try cursor.keyword(["filter"])
        let name = try Self.name(cursor.value("filter name"), kind: "filter")
        if !firewallFilters.contains(where: { $0.family == family && $0.name == name.text }) {
            firewallFilters.append(FirewallFilter(family: family, name: name.text, location: name.location))
        }
        let filter = firewallFilters.firstIndex { $0.family == family && $0.name == name.text }!
        _ = try cursor.keyword(["term"])
        let termName = try Self.name(cursor.value("term name"), kind: "term")
        if !firewallFilters[filter].terms.contains(where: { $0.name == termName.text }) {
            firewallFilters[filter].terms.append(FirewallFilter.Term(name: termName.text, location: termName.location))
        }
        let term = firewallFilters[filter].terms.firstIndex { $0.name == termName.text }!
        if try cursor.keyword(["from", "then"]) == "from" {
            let condition = try Self.condition(&cursor, family: family)
            if let same = firewallFilters[filter].terms[term].conditions.firstIndex(where: { $0.keyword == condition.keyword }) {
                firewallFilters[filter].terms[term].conditions[same].alternatives += condition.alternatives
            } else {
                firewallFilters[filter].terms[term].conditions.append(condition)
            }
        } else {
            try Self.action(&cursor, into: &firewallFilters[filter].terms[term])
        }
    }

    mutating func applyInterfaces(_ cursor: inout PathCursor) throws(ConfigError) {
        let port = try cursor.value("interface name")
        if let problem = NameRules.interfaceNameProblem(port.text) { throw ConfigError(port.location, problem) }
        _ = try cursor.keyword(["unit"])
        let unit = try Self.number(cursor.value("unit number"), what: "unit", in: 0...4094)
        _ = try cursor.keyword(["family"])
        let family = FirewallFilter.Family(rawValue: try cursor.keyword(["inet", "inet6"]))!
        _ = try cursor.keyword(["filter"])
        let direction: SelectionDirection = try cursor.keyword(["input", "output"]) == "input" ? .ingress : .egress
        let filter = try cursor.value("filter name")
        let interface = unit == 0 ? port.text : "\(port.text).\(unit)"
        if let other = firewallBindings.first(where: { $0.interface == interface && $0.direction == direction && $0.family == family }) {
            guard other.filter == filter.text else {
                throw ConfigError(filter.location, "\(interface) already has family \(family.rawValue) filter \(direction == .ingress ? "input" : "output") \(other.filter) (line \(other.location.line)); a unit takes one filter per family and direction")
            }
            return
        }
        firewallBindings.append(FirewallBinding(interface: interface, direction: direction, family: family,
                                                filter: filter.text, location: filter.location))
    }

    private static func action(_ cursor: inout PathCursor, into term: inout FirewallFilter.Term) throws(ConfigError) {
        let action = try cursor.keyword(["port-mirror", "port-mirror-instance", "accept", "discard"])
        let location = cursor.lastWordLocation
        switch action {
        case "port-mirror", "port-mirror-instance":
            var instance: String?
            if action == "port-mirror-instance" { instance = try cursor.value("instance name").text }
            if term.mirrors && term.mirrorInstance != instance {
                throw ConfigError(location, "term \(term.name) already mirrors to \(term.mirrorInstance.map { "instance \($0)" } ?? "port-mirror"); a term mirrors to one instance")
            }
            term.mirrors = true
            term.mirrorInstance = instance
        default:
            if let other = term.terminatingAction, other != action {
                throw ConfigError(location, "term \(term.name) already says '\(other)'; a term has one of accept or discard")
            }
            term.terminatingAction = action
        }
    }

    private static func condition(_ cursor: inout PathCursor, family: FirewallFilter.Family) throws(ConfigError) -> FirewallFilter.Condition {
        let protocolWords = family == .inet ? ["protocol"] : ["protocol", "next-header"]
        let keyword = try cursor.keyword(protocolWords + ["source-address", "destination-address", "address",
                                                          "source-port", "destination-port", "port"])
        let values = try Self.values(&cursor, keyword)
        if cursor.position < cursor.words.count, cursor.words[cursor.position].text == "except" {
            throw ConfigError(cursor.words[cursor.position].location, "'except' is not supported; write the addresses to match, or a term without mirroring before this one")
        }
        var alternatives: [String] = []
        for value in values {
            switch keyword {
            case "protocol", "next-header":
                alternatives.append(try FirewallValues.protocolExpression(value, family: family))
            case "source-address", "destination-address", "address":
                let qualifier = keyword == "address" ? "" : keyword == "source-address" ? "src " : "dst "
                alternatives.append(qualifier + (try FirewallValues.prefix(value, family: family)))
            default:
                let qualifier = keyword == "port" ? "" : keyword == "source-port" ? "src " : "dst "
                alternatives.append(qualifier + (try FirewallValues.portExpression(value)))
            }
        }
        return FirewallFilter.Condition(keyword: keyword == "next-header" ? "protocol" : keyword, alternatives: alternatives)
    }

    /// One value, or Junos's list `[ a b c ]`, to the end of the statement.
    private static func values(_ cursor: inout PathCursor, _ keyword: String) throws(ConfigError) -> [LocatedWord] {
        let first = try cursor.value("\(keyword) value")
        guard first.text == "[" else { return [first] }
        var values: [LocatedWord] = []
        while true {
            let word = try cursor.value("']' closing the \(keyword) list")
            if word.text == "]" { break }
            values.append(word)
        }
        guard !values.isEmpty else { throw ConfigError(first.location, "empty \(keyword) list") }
        return values
    }
}
