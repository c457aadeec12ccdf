import Dispatch
import SpanTapRing

/// The sink's state for one attached ring. Confined to the queue of the worker that owns the ring.
// @unchecked: touched only on its worker's queue (SinkWorker checks it at every entry point).
final class RingSource: @unchecked Sendable {
    let ring: HandoffRing
    var consumer: RingConsumer
    /// Fires when the producer writes the ring's eventfd (only while we sleep on it).
    let wakeups: DispatchSourceRead
    /// Wake-ups in a row that found the ring empty; at `SinkWorker.distrustAfter` the eventfd is
    /// suspended and `poller` looks at the ring instead, until a record shows up.
    var spuriousInARow = 0
    var poller: DispatchSourceTimer?
    /// The producer was told once in the log that its wake-ups are ignored.
    var warnedSpurious = false
    /// Set while a record for this output would block: the ring pauses until the output is writable.
    var blockedOn: UInt32?
    /// nil for the daemon's own bindings (trusted); an external producer's routes otherwise.
    var grant: RecordGrant?
    let counters = ConsumerCounters()
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
        trustWakeups()
        wakeups.setEventHandler {}
        wakeups.setCancelHandler { _ = self }
        wakeups.cancel()
    }

    /// Ignores the eventfd, looking at the ring every `interval` instead (with `look`).
    func distrustWakeups(lookingEvery interval: DispatchTimeInterval, queue: DispatchQueue, look: @escaping () -> Void) {
        guard poller == nil else { return }
        wakeups.suspend()
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler(handler: look)
        timer.activate()
        poller = timer
    }

    /// Back to sleeping on the eventfd. A suspended source must be resumed before it is cancelled
    /// or released, so this is also the first step of `stopWaking`.
    func trustWakeups() {
        spuriousInARow = 0
        guard let poller else { return }
        poller.cancel()
        self.poller = nil
        wakeups.resume()
    }
}
