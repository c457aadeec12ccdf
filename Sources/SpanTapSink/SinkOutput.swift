import Atomics
import SystemPackage

/// Where the sink writes one output's frames: a TAP device's queue fds, a packet socket bound to
/// an existing L2 port, or a remote session's raw GRE socket (`tunnel`: each frame goes out behind
/// the header it builds). Each write is one whole frame.
///
/// The output does not own its descriptors: whoever made it (a `TapOutput`) keeps them open until
/// `SinkService.removeOutput` has returned, after which the sink never touches them again.
public final class SinkOutput: Sendable {
    /// The id producers put in `spantap_record.output_id` to reach this output.
    public let id: UInt32
    /// Interface name, for logs and status.
    public let name: String
    /// One per queue of a multi-queue TAP (sink worker `w` writes to `descriptors[w % count]`), or one.
    public let descriptors: [FileDescriptor]
    public let counters: OutputCounters
    /// An ERSPAN or GRE output's session; nil for a TAP or port.
    public let tunnel: TunnelSession?

    /// Pass the previous `counters` when an output is re-created (its TAP deleted and made again)
    /// so its totals carry on.
    public init(id: UInt32, name: String, descriptors: [FileDescriptor], counters: OutputCounters = OutputCounters(),
                tunnel: TunnelSession? = nil) {
        precondition(!descriptors.isEmpty, "an output needs at least one descriptor")
        self.id = id
        self.name = name
        self.descriptors = descriptors
        self.counters = counters
        self.tunnel = tunnel
    }

    public convenience init(id: UInt32, name: String, descriptor: FileDescriptor, counters: OutputCounters = OutputCounters(),
                            tunnel: TunnelSession? = nil) {
        self.init(id: id, name: name, descriptors: [descriptor], counters: counters, tunnel: tunnel)
    }

    /// The descriptor sink worker `worker` writes to: each worker owns one queue when there are
    /// as many queues as workers.
    func descriptor(forWorker worker: Int) -> FileDescriptor {
        descriptors[worker % descriptors.count]
    }
}

/// Per-output counters, written once per drained batch by each sink worker that delivered to the
/// output (a relaxed atomic add: several workers may share an output); anyone may read them at any
/// time with relaxed loads.
public final class OutputCounters: Sendable {
    public init() {}

    let deliveredPacketsCell = ManagedAtomic<UInt64>(0)
    let deliveredBytesCell = ManagedAtomic<UInt64>(0)
    let writeErrorsCell = ManagedAtomic<UInt64>(0)
    /// Enqueue-to-write latency of the frames delivered.
    public let latency = OutputLatency()

    public var deliveredPackets: UInt64 { deliveredPacketsCell.load(ordering: .relaxed) }
    public var deliveredBytes: UInt64 { deliveredBytesCell.load(ordering: .relaxed) }
    public var writeErrors: UInt64 { writeErrorsCell.load(ordering: .relaxed) }

    /// Adds one drained batch's tallies.
    func add(packets: UInt64, bytes: UInt64, errors: UInt64) {
        deliveredPacketsCell.wrappingIncrement(by: packets, ordering: .relaxed)
        deliveredBytesCell.wrappingIncrement(by: bytes, ordering: .relaxed)
        if errors > 0 { writeErrorsCell.wrappingIncrement(by: errors, ordering: .relaxed) }
    }
}
