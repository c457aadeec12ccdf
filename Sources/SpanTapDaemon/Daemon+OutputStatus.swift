import SpanTapConfig
import SpanTapControl
import SpanTapLink

extension Daemon {
    /// An instance's output as status shows it; a vxlan output adds its tunnel and why frames
    /// were not sent (its kernel transmit errors count in `write_errors` too).
    func outputStatus(_ configured: MirrorOutput, _ output: ManagedOutput?, transmitErrors: TransmitErrors) -> StatusReport.Output {
        var status = StatusReport.Output(interface: output?.currentName ?? configured.interface,
                                         ifindex: output?.ifindex ?? 0, kind: output?.kind ?? "missing")
        guard let tunnel = configured.vxlan else { return status }
        status.remote = tunnel.remote
        status.local = tunnel.local
        status.vni = tunnel.vni
        status.dstport = tunnel.dstport
        var reasons = StatusReport.WriteErrorReasons()
        reasons.writeFailed = output?.counters.writeErrors ?? 0
        reasons.noRoute = transmitErrors.noRoute
        reasons.routingLoop = transmitErrors.routingLoop
        reasons.transmitFailed = transmitErrors.other
        status.writeErrorReasons = reasons
        return status
    }
}
