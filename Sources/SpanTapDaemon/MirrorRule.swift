/// One "mirror this ingress to that output at 1 in N" decision, resolved to kernel ifindexes and
/// the sink's output ids: what AF_XDP bindings and external producers act on.
struct MirrorRule: Equatable {
    var ingress: String
    /// 0 while the interface does not exist (the rule is parked until it appears).
    var ingressIfindex: Int32
    var rate: UInt32
    var output: String
    var outputID: UInt32
    var instance: String
}
