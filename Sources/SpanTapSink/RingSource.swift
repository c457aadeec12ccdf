import Dispatch
import SpanTapRing

/// The sink's state for one attached ring. Confined to the queue of the worker that owns the ring.
// @unchecked: touched only on its worker's queue (SinkWorker checks it at every entry point).
final class RingSource: @unchecked Sendable {
    let ring: HandoffRing
    var consumer: RingConsumer
    /// Fires when the producer writes the ring's eventfd (only while we sleep on it).
    let wakeups: DispatchSourceRead
    /// Set while a record for this output would block: the ring pauses until the output is writable.
    var blockedOn: UInt32?
    /// nil for the daemon's own bindings (trusted); an external producer's routes otherwise.
    var grant: RecordGrant?
    let rejected = RejectedRecords()
    /// Told once, on the owning worker's queue, when the producer breaks the ring protocol.
    let onViolation: @Sendable (RingViolation) -> Void

    init(ring: HandoffRing, queue: DispatchQueue, grant: RecordGrant?, onViolation: @escaping @Sendable (RingViolation) -> Void) {
        self.ring = ring
        consumer = ring.makeConsumer()
        wakeups = DispatchSource.makeReadSource(fileDescriptor: ring.wakeup.rawValue, queue: queue)
        self.grant = grant
        self.onViolation = onViolation
    }

    /// Stops listening for wake-ups; the fd must outlive the source, so the cancel handler keeps it.
    func stopWaking() {
        wakeups.setEventHandler {}
        wakeups.setCancelHandler { _ = self }
        wakeups.cancel()
    }
}
