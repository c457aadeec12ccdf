import Atomics
import Dispatch
import Glibc
import Logging
import SpanTapRing
import SystemPackage

/// Drains handoff rings into their outputs on one serial Dispatch queue.
///
/// Per ring: sleep on its eventfd while empty (the producer pays a syscall only then); when woken,
/// drain in batches and write each record to the output its `output_id` names. A full batch yields
/// the queue so rings take turns. When an output would block (EAGAIN) the ring pauses on that
/// record, a write source on the output's fd resumes it, and meanwhile the ring itself is the only
/// queue: it fills and the producer drops and counts. Nothing here grows without bound or spins.
///
/// All mutable state is confined to `queue`; public methods hop onto it.
public final class SinkService: @unchecked Sendable {
    public let queue: DispatchQueue
    public let batchSize: Int
    private let logger: Logger
    /// Indexed by output id: ids are small and dense, so finding a record's output is one bounds
    /// check and a load.
    private let outputs = OutputTable()
    private var writeWatchers: [UInt32: DispatchSourceWrite] = [:]
    private var sources: [ObjectIdentifier: RingSource] = [:]
    private let drainPassesCell = ManagedAtomic<UInt64>(0)

    /// How many times the sink woke to drain a ring. At a steady load this grows with the offered
    /// rate divided by the batch size; while every ring is idle or paused it must not grow at all.
    public var drainPasses: UInt64 { drainPassesCell.load(ordering: .relaxed) }

    public init(queue: DispatchQueue = DispatchQueue(label: "spantap.sink"), batchSize: Int = 256,
                logger: Logger = Logger(label: "spantap.sink")) {
        self.queue = queue
        self.batchSize = batchSize
        self.logger = logger
    }

    // MARK: Outputs

    /// Routes records with `output.id` to `output`, replacing any output with that id.
    public func addOutput(_ output: SinkOutput) {
        queue.sync {
            stopWatching(output.id)
            outputs.set(output, id: output.id)
            resumeRings(blockedOn: output.id)
        }
    }

    /// Stops writing to output `id`. When this returns the sink no longer uses its descriptor, so
    /// the caller may close it. Later records for `id` count as `mirror_drops_no_binding`.
    public func removeOutput(id: UInt32) {
        queue.sync {
            guard outputs[id] != nil else { return }
            outputs.set(nil, id: id)
            stopWatching(id)
            resumeRings(blockedOn: id)
        }
    }

    // MARK: Rings

    /// Starts draining `ring` (takes its consumer end).
    public func attach(_ ring: HandoffRing) {
        queue.sync {
            let source = RingSource(ring: ring, queue: queue)
            sources[ObjectIdentifier(ring)] = source
            source.wakeups.setEventHandler { [unowned self, unowned source] in self.service(source) }
            source.wakeups.activate()
            service(source)
        }
    }

    /// Stops draining `ring` after handing every record still in it to the outputs (records whose
    /// output would block now are counted as write errors). Returns once the ring is released.
    public func detach(_ ring: HandoffRing) {
        queue.sync {
            guard let source = sources.removeValue(forKey: ObjectIdentifier(ring)) else { return }
            source.wakeups.setEventHandler {}
            source.wakeups.setCancelHandler { _ = source } // the fd must outlive the source
            source.wakeups.cancel()
            while drain(source, final: true) > 0 {}
        }
    }

    // MARK: Draining

    private func service(_ source: RingSource) {
        drainPassesCell.store(drainPassesCell.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        source.consumer.acknowledgeWakeup()
        guard source.blockedOn == nil else { return }
        while true {
            let drained = drain(source, final: false)
            if let blocked = source.blockedOn {
                pause(source, on: blocked)
                return
            }
            if drained == batchSize {
                queue.async { [weak self, weak source] in
                    if let self, let source, self.sources[ObjectIdentifier(source.ring)] === source { self.service(source) }
                }
                return
            }
            if source.consumer.prepareToSleep() { return }
        }
    }

    /// One batch from `source`; sets `blockedOn` if an output would block (unless `final`).
    private func drain(_ source: RingSource, final: Bool) -> Int {
        var noBinding = 0
        let drained = source.consumer.drain(limit: batchSize) { record in
            switch deliver(record, final: final) {
            case .done: return true
            case .noBinding: noBinding += 1; return true
            case .wouldBlock: source.blockedOn = record.outputID; return false
            }
        }
        source.consumer.countDropsNoBinding(noBinding)
        outputs.flush()
        return drained
    }

    private enum Delivery { case done, noBinding, wouldBlock }

    /// Writes one record to its output; errors other than would-block are counted and the record
    /// is consumed (a mirror clone is discardable).
    @inline(__always)
    private func deliver(_ record: RingRecord, final: Bool) -> Delivery {
        let descriptor = outputs.descriptor(record.outputID)
        guard descriptor >= 0 else { return .noBinding }
        let written = write(descriptor, record.frame.baseAddress, record.frame.count)
        if written == record.frame.count {
            outputs.delivered(record.outputID, bytes: written)
            return .done
        }
        switch written < 0 ? errno : EMSGSIZE {
        case EAGAIN where !final:
            return .wouldBlock
        case EIO, ENETDOWN, ENXIO, ENODEV:
            // A TAP that is down answers EIO, a packet socket on a downed port ENETDOWN/ENXIO.
            return .noBinding
        default:
            outputs.failed(record.outputID)
            return .done
        }
    }

    private func pause(_ source: RingSource, on outputID: UInt32) {
        source.blockedOn = outputID
        guard writeWatchers[outputID] == nil, let output = outputs[outputID] else { return }
        let watcher = DispatchSource.makeWriteSource(fileDescriptor: output.descriptor.rawValue, queue: queue)
        watcher.setEventHandler { [unowned self] in
            self.stopWatching(outputID)
            self.resumeRings(blockedOn: outputID)
        }
        writeWatchers[outputID] = watcher
        watcher.activate()
        logger.debug("output would block; ring paused", metadata: ["output": "\(output.name)"])
    }

    private func stopWatching(_ outputID: UInt32) {
        writeWatchers.removeValue(forKey: outputID)?.cancel()
    }

    private func resumeRings(blockedOn outputID: UInt32) {
        for source in sources.values where source.blockedOn == outputID {
            source.blockedOn = nil
            service(source)
        }
    }
}
