import SpanTapConfig
import SpanTapControl
import SpanTapLink
import SpanTapSink

extension Daemon {
    /// An instance's output as status shows it; a vxlan output adds its tunnel and why frames
    /// were not sent (its kernel transmit errors count in `write_errors` too), an erspan or gre
    /// output its session.
    func outputStatus(_ configured: MirrorOutput, _ output: ManagedOutput?, transmitErrors: TransmitErrors) -> StatusReport.Output {
        var status = StatusReport.Output(interface: output?.currentName ?? configured.interface,
                                         ifindex: output?.ifindex ?? 0, kind: output?.kind ?? "missing")
        status.latency = output.map { Self.latencyStatus($0.counters.latency.snapshot()) }
        if let tunnel = configured.gre {
            status.remote = tunnel.remote
            status.local = tunnel.local
            if case .remote(_, let session) = output?.attachment { status.session = Self.sessionStatus(tunnel, session) }
            return status
        }
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

    private static func sessionStatus(_ tunnel: GRETunnel, _ session: TunnelSession) -> StatusReport.RemoteSession {
        var status = StatusReport.RemoteSession(sequenceNumbers: session.header.hasSequenceNumbers, pathMtu: session.pathMTU)
        switch tunnel.encapsulation {
        case .erspan(let erspan):
            status.version = erspan.version
            status.sessionId = erspan.sessionID
            if erspan.version == 2 { status.index = erspan.index } else { status.hardwareId = erspan.hardwareID }
        case .gre(let key, _):
            status.key = key
        }
        status.truncated = session.count(.truncated)
        status.tooBig = session.count(.tooBig)
        status.noRoute = session.count(.noRoute)
        status.messageTooLong = session.count(.messageTooLong)
        status.queueFull = session.count(.queueFull)
        status.otherErrors = session.count(.other)
        return status
    }

    private static func latencyStatus(_ snapshot: LatencySnapshot) -> StatusReport.Latency {
        let microseconds = { (nanoseconds: UInt64) in Double(nanoseconds) / 1_000 }
        return StatusReport.Latency(
            samples: snapshot.samples, p50Us: microseconds(snapshot.p50Nanoseconds), p99Us: microseconds(snapshot.p99Nanoseconds),
            maxUs: microseconds(snapshot.maxNanoseconds), sumUs: microseconds(snapshot.sumNanoseconds),
            buckets: zip(OutputLatency.bucketBoundsMicroseconds, snapshot.cumulativeCounts).map {
                StatusReport.Latency.Bucket(leUs: $0, count: $1)
            })
    }
}
