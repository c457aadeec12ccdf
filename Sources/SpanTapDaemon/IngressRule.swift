import SpanTapRing

/// One "mirror this ingress to that output at 1 in N" decision, resolved to kernel ifindexes and
/// the sink's output ids: what every ring's rule table carries (`ringRule`), for the AF_XDP
/// bindings and external producers alike.
struct IngressRule: Equatable {
    var ingress: String
    /// 0 while the interface does not exist (the rule is parked until it appears).
    var ingressIfindex: Int32
    var rate: UInt32
    /// Captured bytes per clone (`maximum-packet-length`); 0: whole frames.
    var snapLength: UInt32
    var output: String
    var outputID: UInt32
    var instance: String

    /// The rule as rings carry it; nil while the interface or the output does not exist.
    var ringRule: RingRule? {
        guard ingressIfindex > 0, outputID != UInt32.max else { return nil }
        return RingRule(ifindex: UInt32(ingressIfindex), direction: .received, outputID: outputID, rate: rate,
                        snapLength: snapLength)
    }
}
