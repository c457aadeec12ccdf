/// `sink { io-uring on|off; }`: how spantapd's sink writes mirrored frames to outputs. Room is
/// kept here for `cpus` and `scheduling` (placement of the sink's workers).
public struct SinkSettings: Equatable, Sendable {
    /// Batched writes through io_uring where the kernel allows it (write(2) otherwise); `off`
    /// forces one write(2) per frame.
    public var ioUring = true

    public init(ioUring: Bool = true) {
        self.ioUring = ioUring
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
