import SpanTapControl

extension Daemon {
    /// Mirror counters of the rings that carry `ingress` interfaces' frames.
    func mirrorCounters(ingress: [String]) -> StatusReport.MirrorCounters {
        StatusReport.MirrorCounters()
    }

    func bindingStatus() -> [StatusReport.Binding] { [] }

    /// The rules changed (reload, apply, a link came or went): bindings pick up the new table.
    func mirrorRulesChanged() {}
}
