import Dispatch
import SpanTapRing

/// The sink's state for one attached ring. Confined to the sink queue.
final class RingSource: @unchecked Sendable {
    let ring: HandoffRing
    var consumer: RingConsumer
    /// Fires when the producer writes the ring's eventfd (only while we sleep on it).
    let wakeups: DispatchSourceRead
    /// Set while a record for this output would block: the ring pauses until the output is writable.
    var blockedOn: UInt32?

    init(ring: HandoffRing, queue: DispatchQueue) {
        self.ring = ring
        consumer = ring.makeConsumer()
        wakeups = DispatchSource.makeReadSource(fileDescriptor: ring.wakeup.rawValue, queue: queue)
    }
}
