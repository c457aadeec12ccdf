import SpanTapControl
import SpanTapRing

extension MirrorCounters {
    /// The one place a ring's counters become status counters (the sink's own checks of an
    /// external producer's records are added by `ExternalProducer`).
    init(ring: RingCounters) {
        self.init()
        mirroredPackets = ring.mirroredPackets
        mirroredBytes = ring.mirroredBytes
        mirrorDropsQueueFull = ring.mirrorDropsQueueFull
        mirrorDropsNoFrame = ring.mirrorDropsNoFrame
        mirrorDropsNoBinding = ring.mirrorDropsNoBinding
        mirrorOnceSuppressed = ring.mirrorOnceSuppressed
        mirrorDropsRateLimited = ring.mirrorDropsRateLimited
        filterRejected = ring.filterRejected
        rulesDisabled = ring.rulesDisabled
    }
}
