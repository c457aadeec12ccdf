import SpanTapConfig
import SpanTapRing

/// One "mirror this interface's frames, in this direction, to that output at 1 in N" decision,
/// resolved to a kernel ifindex (and VLAN unit) and the sink's output id: what every ring's rule
/// table carries (`ringRule`), for the AF_XDP bindings and external producers alike.
struct ResolvedRule: Equatable {
    /// The selector as the config writes it: `fwd-a`, or a unit `fwd-a.100`.
    var interface: String
    /// 0 while the interface does not exist (the rule is parked until it appears).
    var ifindex: Int32
    var direction: MirrorDirection
    /// 0: the whole port; else the VLAN unit.
    var vlanID: UInt16
    var rate: UInt32
    var runLength: UInt16
    /// Captured bytes per clone (`maximum-packet-length`); 0: whole frames.
    var snapLength: UInt32
    /// 0: no limit.
    var maxPacketsPerSecond: UInt32
    var output: String
    var outputID: UInt32
    var instance: String
    /// The program producers run on this rule's frames before sampling; nil: every frame.
    var filter: MirrorFilter?

    /// Refuses more distinct filter programs than a ring's program table holds (every ring
    /// carries every rule, so the limit is the whole table's).
    static func checkFilterCount(_ filters: [MirrorFilter?]) throws(DaemonError) {
        var programs: [FilterProgram] = []
        for program in filters.compactMap({ $0?.program }) where !programs.contains(program) { programs.append(program) }
        guard programs.count <= HandoffRing.programCapacity else {
            throw .tooManyFilters(count: programs.count, capacity: HandoffRing.programCapacity)
        }
    }

    /// The rule as rings carry it; nil while the interface or the output does not exist.
    var ringRule: RingRule? {
        guard ifindex > 0, outputID != UInt32.max else { return nil }
        return RingRule(ifindex: UInt32(ifindex), direction: direction, vlanID: vlanID, outputID: outputID, rate: rate,
                        runLength: runLength, snapLength: snapLength, maxPacketsPerSecond: maxPacketsPerSecond,
                        filter: filter?.program)
    }
}
