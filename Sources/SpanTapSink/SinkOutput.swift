import Atomics
import SystemPackage

/// Where the sink writes one output's frames: a TAP device's fd, or a packet socket bound to an
/// existing L2 port. Each `write(2)` is one whole frame.
///
/// The output does not own `descriptor`: whoever made it (a `TapOutput`) keeps it open until
/// `SinkService.removeOutput` has returned, after which the sink never touches it again.
public final class SinkOutput: Sendable {
    /// The id producers put in `spantap_record.output_id` to reach this output.
    public let id: UInt32
    /// Interface name, for logs and status.
    public let name: String
    public let descriptor: FileDescriptor
    public let counters: OutputCounters

    /// Pass the previous `counters` when an output is re-created (its TAP deleted and made again)
    /// so its totals carry on.
    public init(id: UInt32, name: String, descriptor: FileDescriptor, counters: OutputCounters = OutputCounters()) {
        self.id = id
        self.name = name
        self.descriptor = descriptor
        self.counters = counters
    }
}

/// Per-output counters. The sink queue is the single writer (plain load + store, no locked RMW);
/// anyone may read them at any time with relaxed loads.
public final class OutputCounters: Sendable {
    public init() {}

    let deliveredPacketsCell = ManagedAtomic<UInt64>(0)
    let deliveredBytesCell = ManagedAtomic<UInt64>(0)
    let writeErrorsCell = ManagedAtomic<UInt64>(0)

    public var deliveredPackets: UInt64 { deliveredPacketsCell.load(ordering: .relaxed) }
    public var deliveredBytes: UInt64 { deliveredBytesCell.load(ordering: .relaxed) }
    public var writeErrors: UInt64 { writeErrorsCell.load(ordering: .relaxed) }

    /// Adds one drained batch's tallies (plain load + store: the sink queue is the only writer).
    func add(packets: UInt64, bytes: UInt64, errors: UInt64) {
        deliveredPacketsCell.store(deliveredPacketsCell.load(ordering: .relaxed) &+ packets, ordering: .relaxed)
        deliveredBytesCell.store(deliveredBytesCell.load(ordering: .relaxed) &+ bytes, ordering: .relaxed)
        writeErrorsCell.store(writeErrorsCell.load(ordering: .relaxed) &+ errors, ordering: .relaxed)
    }
}
