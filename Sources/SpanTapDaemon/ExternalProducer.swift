import SpanTapControl
import SpanTapRing
import SpanTapSink

/// A forwarder in another process feeding its own ring, attached over the control socket. Its
/// lifetime is its connection's: when the socket closes (detach, exit or crash), the ring is
/// drained into the outputs and freed; if it breaks the ring protocol, it is quarantined instead.
final class ExternalProducer {
    let name: String
    let peer: ControlPeer
    let ring: HandoffRing
    /// What the sink refused from this ring (kept in spantapd's memory, out of the producer's reach).
    let rejected: RejectedRecords

    init(name: String, peer: ControlPeer, ring: HandoffRing, rejected: RejectedRecords) {
        self.name = name
        self.peer = peer
        self.ring = ring
        self.rejected = rejected
    }

    var counters: StatusReport.ProducerCounters {
        let ring = ring.counters
        var counters = StatusReport.ProducerCounters()
        counters.mirroredPackets = ring.mirroredPackets
        counters.mirrorDropsQueueFull = ring.mirrorDropsQueueFull
        counters.mirrorDropsNoFrame = ring.mirrorDropsNoFrame
        counters.mirrorDropsNoBinding = ring.mirrorDropsNoBinding
        counters.mirrorDropsRateLimited = ring.mirrorDropsRateLimited
        counters.mirrorDropsNotGranted = rejected.notGranted
        counters.mirrorDropsBadRecord = rejected.badRecord
        return counters
    }
}
