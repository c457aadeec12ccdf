import Foundation
import SpanTapControl
import SpanTapRing
import SpanTapSink

/// A forwarder in another process feeding its own ring, attached over the control socket. Its
/// lifetime is its connection's: when the socket closes (detach, exit or crash), the ring is
/// drained into the outputs and freed; if it breaks the ring protocol, it is quarantined instead.
struct ExternalProducer {
    let name: String
    let peer: ControlPeer
    let ring: HandoffRing
    /// What the sink counted of this ring (kept in spantapd's memory, out of the producer's reach).
    let sink: ConsumerCounters
    /// When it attached to this spantapd, and how many times it says it attached before.
    let attachedAt = Date()
    let reattaches: Int

    var counters: MirrorCounters {
        var counters = ring.counters
        counters.mirrorDropsNotGranted = sink.notGranted
        counters.mirrorDropsBadRecord = sink.badRecord
        counters.spuriousWakeups = sink.spuriousWakeups
        return counters
    }
}
