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
/// A ring's producer may be another, untrusted process: its records are checked (`RingConsumer`),
/// confined to its `RecordGrant`, and a broken index quarantines the ring at once.
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

    /// Starts draining `ring` (takes its consumer end). An external producer's ring gets its
    /// `grant`, and `onViolation` runs (on the sink queue) if its producer breaks the protocol:
    /// by then the ring is already detached, nothing of it replayed. Returns the ring's rejection
    /// counters.
    @discardableResult
    public func attach(_ ring: HandoffRing, grant: RecordGrant? = nil,
                       onViolation: @escaping @Sendable (RingViolation) -> Void = { _ in }) -> RejectedRecords {
        queue.sync {
            let source = RingSource(ring: ring, queue: queue, grant: grant, onViolation: onViolation)
            sources[ObjectIdentifier(ring)] = source
            source.wakeups.setEventHandler { [unowned self, unowned source] in self.service(source) }
            source.wakeups.activate()
            service(source)
            return source.rejected
        }
    }

    /// Replaces the routes an external producer's records may take (after a reload or apply).
    public func setGrant(_ grant: RecordGrant, for ring: HandoffRing) {
        queue.sync { sources[ObjectIdentifier(ring)]?.grant = grant }
    }

    /// Stops draining `ring` after handing what is in it to the outputs (records whose output would
    /// block now are counted as write errors). At most one ring's worth (`slot_count` records) is
    /// drained, whatever the producer keeps publishing. Returns once the ring is released, with the
    /// violation that cut the drain short, if any.
    @discardableResult
    public func detach(_ ring: HandoffRing) -> RingViolation? {
        queue.sync { () -> RingViolation? in
            guard let source = sources.removeValue(forKey: ObjectIdentifier(ring)) else { return nil }
            source.stopWaking()
            var budget = ring.geometry.slotCount
            do throws(RingViolation) {
                while budget > 0 {
                    let drained = try drain(source, final: true, limit: min(batchSize, budget))
                    guard drained > 0 else { break }
                    budget -= drained
                }
            } catch {
                return error
            }
            return nil
        }
    }

    // MARK: Draining

    private func service(_ source: RingSource) {
        guard sources[ObjectIdentifier(source.ring)] === source else { return }
        drainPassesCell.store(drainPassesCell.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        source.consumer.acknowledgeWakeup()
        guard source.blockedOn == nil else { return }
        do throws(RingViolation) {
            while true {
                let drained = try drain(source, final: false, limit: batchSize)
                if let blocked = source.blockedOn {
                    pause(source, on: blocked)
                    return
                }
                if drained == batchSize {
                    queue.async { [weak self, weak source] in
                        if let self, let source { self.service(source) }
                    }
                    return
                }
                if try source.consumer.prepareToSleep() { return }
            }
        } catch {
            quarantine(source, error)
        }
    }

    /// The producer broke the protocol: drop its ring at once, reading nothing more from it.
    private func quarantine(_ source: RingSource, _ violation: RingViolation) {
        sources.removeValue(forKey: ObjectIdentifier(source.ring))
        source.stopWaking()
        source.onViolation(violation)
    }

    /// One batch from `source`; sets `blockedOn` if an output would block (unless `final`).
    private func drain(_ source: RingSource, final: Bool, limit: Int) throws(RingViolation) -> Int {
        var noBinding = 0, notGranted = 0
        let grant = source.grant
        let drained = try source.consumer.drain(limit: limit) { record in
            if let grant, !grant.admits(record) {
                notGranted += 1
                return true
            }
            switch deliver(record, final: final) {
            case .done: return true
            case .noBinding: noBinding += 1; return true
            case .wouldBlock: source.blockedOn = record.outputID; return false
            }
        }
        source.consumer.countDropsNoBinding(noBinding)
        source.rejected.add(notGranted: notGranted, badRecordTotal: source.consumer.badRecords)
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
