import Glibc

/// Junos match values (protocols, ports, prefixes, as Junos writes them) as tcpdump expressions.
enum FirewallValues {
    /// Junos's protocol names with their IANA numbers.
    static let protocols: [String: UInt32] = [
        "icmp": 1, "igmp": 2, "ipip": 4, "tcp": 6, "egp": 8, "udp": 17, "rsvp": 46, "gre": 47, "esp": 50, "ah": 51,
        "icmp6": 58, "ospf": 89, "pim": 103, "vrrp": 112, "sctp": 132,
    ]

    /// Junos's port names with their numbers.
    static let ports: [String: UInt32] = [
        "ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "tacacs": 49, "domain": 53, "bootps": 67,
        "bootpc": 68, "tftp": 69, "http": 80, "kerberos-sec": 88, "pop3": 110, "sunrpc": 111, "ntp": 123, "imap": 143,
        "snmp": 161, "snmptrap": 162, "bgp": 179, "ldap": 389, "https": 443, "syslog": 514, "radius": 1812,
        "radacct": 1813, "nfsd": 2049, "http-alt": 8080,
    ]

    static func protocolExpression(_ word: LocatedWord, family: FirewallFilter.Family) throws(ConfigError) -> String {
        let (low, high) = try range(word, names: protocols, what: "protocol", maximum: 255)
        let field = family == .inet ? "ip[9]" : "ip6[6]"
        if low == high { return "\(family.expression) proto \(low)" }
        return "(\(field) >= \(low) and \(field) <= \(high))"
    }

    static func portExpression(_ word: LocatedWord) throws(ConfigError) -> String {
        let (low, high) = try range(word, names: ports, what: "port", maximum: 65535)
        return low == high ? "port \(low)" : "portrange \(low)-\(high)"
    }

    /// `10.0.0.0/8`, `192.0.2.1` (a host), `2001:db8::/32`: `net ...` or `host ...`, refused when
    /// of the other family or with bits set beyond the prefix (Junos would silently mask them).
    static func prefix(_ word: LocatedWord, family: FirewallFilter.Family) throws(ConfigError) -> String {
        let parts = word.text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let v6 = family == .inet6
        var bytes = [UInt8](repeating: 0, count: 16)
        guard inet_pton(v6 ? AF_INET6 : AF_INET, String(parts[0]), &bytes) == 1 else {
            throw ConfigError(word.location, "'\(word.text)' is not an \(v6 ? "IPv6" : "IPv4") address or prefix (family \(family.rawValue))")
        }
        let bits = v6 ? 128 : 32
        guard parts.count == 2 else { return "host \(parts[0])" }
        guard let length = Int(parts[1]), (0...bits).contains(length) else {
            throw ConfigError(word.location, "prefix length of '\(word.text)' must be 0 to \(bits)")
        }
        let hostBitsSet = (length..<bits).contains { bytes[$0 / 8] & (0x80 >> UInt8($0 % 8)) != 0 }
        guard !hostBitsSet else {
            throw ConfigError(word.location, "'\(word.text)' has bits set beyond its /\(length) prefix; write the network address")
        }
        return length == bits ? "host \(parts[0])" : "net \(word.text)"
    }

    /// A number, a name, or `low-high`.
    private static func range(_ word: LocatedWord, names: [String: UInt32], what: String,
                              maximum: UInt32) throws(ConfigError) -> (UInt32, UInt32) {
        func value(_ text: Substring) throws(ConfigError) -> UInt32 {
            if let number = UInt32(text), number <= maximum { return number }
            if let named = names[String(text)] { return named }
            throw ConfigError(word.location, "'\(text)' is not a \(what) (a number 0 to \(maximum), a range low-high, or one of \(names.keys.sorted().joined(separator: ", ")))")
        }
        let bounds = word.text.split(separator: "-", maxSplits: 1)
        if bounds.count == 2, UInt32(bounds[0]) != nil {
            let (low, high) = (try value(bounds[0]), try value(bounds[1]))
            guard low <= high else { throw ConfigError(word.location, "\(what) range '\(word.text)' runs backwards") }
            return (low, high)
        }
        let single = try value(Substring(word.text))
        return (single, single)
    }
}
