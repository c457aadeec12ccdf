import Dispatch
import SpanTapLink
import Synchronization

/// Collects LinkMonitor events and lets a test wait, with a deadline, for one it expects.
final class EventRecorder: Sendable {
    private let events = Mutex<[LinkEvent]>([])
    private let arrived = DispatchSemaphore(value: 0)

    var all: [LinkEvent] { events.withLock { $0 } }

    func record(_ event: LinkEvent) {
        events.withLock { $0.append(event) }
        arrived.signal()
    }

    /// The first recorded event `match` accepts (mapped), waiting at most `timeout` for it.
    func wait<T>(timeout: Duration = .seconds(5), for match: (LinkEvent) -> T?) -> T? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let found = all.lazy.compactMap(match).first { return found }
            let remaining = deadline - .now
            guard remaining > .zero else { return nil }
            _ = arrived.wait(timeout: .now() + .milliseconds(Int(remaining / .milliseconds(1)) + 1))
        }
    }
}
