/// `sink { io-uring on|off; }`: how spantapd's sink writes mirrored frames to outputs. Room is
/// kept here for `cpus` and `scheduling` (placement of the sink's workers).
public struct SinkSettings: Equatable, Sendable {
    /// How the kernel schedules the slow path (sink, control, metrics, link monitor) beside the
    /// forwarding threads, which always run at the normal class.
    public enum Scheduling: String, Equatable, Sendable, CaseIterable {
        case idle, batch, normal
    }

    /// Batched writes through io_uring where the kernel allows it (write(2) otherwise); `off`
    /// forces one write(2) per frame.
    public var ioUring = true
    /// CPUs the slow path may run on; empty: any.
    public var cpus: [Int] = []
    /// `idle` by measurement (docs/BENCHMARKS.md row 3b): with SCHED_IDLE the slow path lost no
    /// forwarded frame in native XDP under line-rate bursts, where batch and normal did.
    public var scheduling = Scheduling.idle

    public init(ioUring: Bool = true, cpus: [Int] = [], scheduling: Scheduling = .idle) {
        self.ioUring = ioUring
        self.cpus = cpus
        self.scheduling = scheduling
    }
}

/// `output { queues N|auto; }`: queues of a TAP that spantapd creates, one fd and one sink worker
/// each; `auto` is one per sink worker.
public enum OutputQueues: Equatable, Sendable {
    case count(Int)
    case auto

    /// The most queues a TAP may have (the kernel's MAX_TAP_QUEUES is 256).
    public static let maximum = 256
}
