/// `firewall family inet|inet6 filter NAME { term T { from {...} then {...} } }`, Junos's stateless
/// firewall filter, reduced to what decides mirroring. Every match condition is kept as the
/// tcpdump (libpcap) expression that means the same thing, so a filter becomes one program per
/// mirror instance (FirewallTranslation).
struct FirewallFilter: Equatable {
    enum Family: String, Equatable, CaseIterable {
        case inet, inet6

        /// The expression a frame of this family satisfies, as tcpdump writes it.
        var expression: String { self == .inet ? "ip" : "ip6" }
    }

    /// One `from` condition (`source-port`, ...): its values are alternatives (any may match).
    struct Condition: Equatable {
        var keyword: String
        var alternatives: [String]
    }

    struct Term: Equatable {
        var name: String
        /// All must match (Junos ANDs the conditions of a term); none: the term matches every frame.
        var conditions: [Condition] = []
        /// `port-mirror-instance NAME`, or `port-mirror` (nil name: the only port-mirroring instance).
        var mirrors = false
        var mirrorInstance: String?
        /// `accept` or `discard`; absent: accept, as Junos.
        var terminatingAction: String?
        var location: SourceLocation
    }

    var family: Family
    var name: String
    var terms: [Term] = []
    var location: SourceLocation
}

/// `interfaces IF unit N family inet|inet6 filter input|output NAME`.
struct FirewallBinding: Equatable {
    /// `IF` for unit 0 (the whole port), else `IF.N`.
    var interface: String
    var direction: SelectionDirection
    var family: FirewallFilter.Family
    var filter: String
    var location: SourceLocation
}
