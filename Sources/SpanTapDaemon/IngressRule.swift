/// One "mirror this ingress to that output at 1 in N" decision, resolved to kernel ifindexes and
/// the sink's output ids: what AF_XDP bindings (through the mirror table) and external producers
/// (through their grant) act on.
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
}
