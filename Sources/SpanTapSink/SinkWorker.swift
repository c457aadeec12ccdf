import Atomics
import Dispatch
import Glibc
import Logging
import SpanTapRing
import SystemPackage

/// One sink worker: drains its share of the rings into the outputs on one serial Dispatch queue.
///
/// Per ring: sleep on its eventfd while empty (the producer pays a syscall only then); when woken,
/// drain in batches and write each record to the output its `output_id` names. A full batch yields
/// the queue so rings take turns. When an output would block (EAGAIN) the ring pauses on that
/// record, a write source on the output's fd resumes it, and meanwhile the ring itself is the only
/// queue: it fills and the producer drops and counts. Nothing here grows without bound or spins.
///
/// A ring's producer may be another, untrusted process: its records are checked (`RingConsumer`),
/// confined to its `RecordGrant`, and a broken index quarantines the ring at once. Its wake-ups
/// are not trusted either: after `distrustAfter` in a row that found nothing, its eventfd is
/// ignored and the ring looked at every `pollInterval` until a record shows up, so a producer that
/// writes its eventfd in a loop costs 100 looks a second, not a core.
///
/// With io_uring a batch is peeked, written as one submission and released only after every write
/// in it completed, so the producer never reuses a slot a write still reads, and no write is ever
/// in flight outside a drain (so removing an output or detaching a ring waits for none).
///
/// All mutable state is confined to `queue`; the `SinkService` hops onto it, and every entry
/// point checks that it did (`dispatchPrecondition`, once per call, never per record).
// @unchecked: confined to `queue` (checked at each entry point below); `drainPasses` is atomic.
final class SinkWorker: @unchecked Sendable {
    let queue: DispatchQueue
    let index: Int
    private let batchSize: Int
    private let logger: Logger
    /// Indexed by output id: ids are small and dense, so finding a record's output is one bounds
    /// check and a load.
    private let outputs: OutputTable
    private var writer: Writer
    private var writeWatchers: [UInt32: DispatchSourceWrite] = [:]
    private var sources: [ObjectIdentifier: RingSource] = [:]
    /// Capture clients attached now; each gets a copy of the records its selections name.
    private var captures: [(output: CaptureOutput, selections: Set<CaptureOutput.Selection>)] = []
    private let drainPassesCell = ManagedAtomic<UInt64>(0)
    /// Frames for remote outputs, sent with sendmmsg before each batch's slots are released.
    private let tunnels: TunnelBatch
    /// Empty wake-ups in a row before a ring's eventfd is ignored. A producer that keeps the
    /// protocol causes one now and then (its write raced our last look before sleeping), never
    /// many in a row.
    static let distrustAfter = 16
    /// How often a distrusted ring is looked at: the latency its frames get meanwhile.
    static let pollInterval = DispatchTimeInterval.milliseconds(10)

    private enum Writer {
        case syscall
        case uring(UringBatch)
    }

    var drainPasses: UInt64 { drainPassesCell.load(ordering: .relaxed) }

    init(index: Int, batchSize: Int, uring: UringBatch?, logger: Logger) {
        self.index = index
        self.batchSize = batchSize
        self.logger = logger
        queue = DispatchQueue(label: "spantap.sink.\(index)")
        outputs = OutputTable(worker: index)
        writer = uring.map { .uring($0) } ?? .syscall
        tunnels = TunnelBatch(capacity: batchSize)
    }

    // MARK: Outputs (called on `queue`)

    func addOutput(_ output: SinkOutput) {
        dispatchPrecondition(condition: .onQueue(queue))
        stopWatching(output.id)
        outputs.set(output, id: output.id)
        resumeRings(blockedOn: output.id)
    }

    /// No write to the output is in flight outside a drain, and drains run on this queue: once
    /// this returns the worker has let go of the output's descriptor.
    func removeOutput(id: UInt32) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard outputs[id] != nil else { return }
        outputs.set(nil, id: id)
        stopWatching(id)
        resumeRings(blockedOn: id)
    }

    func setFanOut(id: UInt32, members: [UInt32]?) {
        dispatchPrecondition(condition: .onQueue(queue))
        outputs.setFanOut(members, id: id)
    }

    // MARK: Captures (called on `queue`)

    func addCapture(_ capture: CaptureOutput, selections: Set<CaptureOutput.Selection>) {
        dispatchPrecondition(condition: .onQueue(queue))
        captures.append((capture, selections))
    }

    func setSelections(_ selections: Set<CaptureOutput.Selection>, forCapture id: Int) {
        dispatchPrecondition(condition: .onQueue(queue))
        for index in captures.indices where captures[index].output.id == id { captures[index].selections = selections }
    }

    /// Captures are offered records only inside a drain, which runs on this queue: once this
    /// returns the worker has let go of the capture's descriptor.
    func removeCapture(id: Int) {
        dispatchPrecondition(condition: .onQueue(queue))
        captures.removeAll { $0.output.id == id }
    }

    /// Copies a record that is consumed (written, failed or without an output, never one that
    /// would block and is offered again) to the captures that select it.
    @inline(__always)
    private func capture(_ record: RingRecord) {
        guard !captures.isEmpty else { return }
        let selection = CaptureOutput.Selection(outputID: record.outputID, ifindex: record.ifindex, direction: record.direction)
        for capture in captures where capture.selections.contains(selection) { capture.output.offer(record) }
    }

    // MARK: Rings (called on `queue`)

    func attach(_ ring: HandoffRing, grant: RecordGrant?, onViolation: @escaping @Sendable (RingViolation) -> Void) -> ConsumerCounters {
        dispatchPrecondition(condition: .onQueue(queue))
        let source = RingSource(ring: ring, queue: queue, grant: grant, onViolation: onViolation)
        sources[ObjectIdentifier(ring)] = source
        source.wakeups.setEventHandler { [unowned self, unowned source] in self.wokenUp(source) }
        source.wakeups.activate()
        service(source)
        return source.counters
    }

    func setGrant(_ grant: RecordGrant, for ring: HandoffRing) {
        dispatchPrecondition(condition: .onQueue(queue))
        sources[ObjectIdentifier(ring)]?.grant = grant
    }

    func detach(_ ring: HandoffRing) -> RingViolation? {
        dispatchPrecondition(condition: .onQueue(queue))
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

    // MARK: Draining

    /// The producer wrote the eventfd: drain, and count the wake-up as spurious if there was
    /// nothing to drain.
    private func wokenUp(_ source: RingSource) {
        guard source.blockedOn == nil else {
            service(source)
            return
        }
        guard service(source) == 0, sources[ObjectIdentifier(source.ring)] === source else {
            source.spuriousInARow = 0
            return
        }
        source.counters.countSpuriousWakeup()
        source.spuriousInARow += 1
        guard source.spuriousInARow >= Self.distrustAfter else { return }
        source.distrustWakeups(lookingEvery: Self.pollInterval, queue: queue) { [unowned self, unowned source] in
            self.look(at: source)
        }
        if !source.warnedSpurious {
            source.warnedSpurious = true
            logger.warning("a producer wakes the sink without publishing; its wake-ups are ignored and its ring looked at every 10 ms until a record shows up",
                           metadata: ["worker": "\(index)", "spurious_in_a_row": "\(Self.distrustAfter)"])
        }
    }

    /// A distrusted ring's periodic look: once a record is there, trust its eventfd again.
    private func look(at source: RingSource) {
        guard sources[ObjectIdentifier(source.ring)] === source, source.blockedOn == nil else { return }
        do throws(RingViolation) {
            guard try source.consumer.pending() > 0 else { return }
        } catch {
            return quarantine(source, error)
        }
        source.trustWakeups()
        service(source)
    }

    /// Drains `source` until it is empty (then sleeps on its eventfd), its batch is full (then
    /// yields the queue to other rings) or an output would block. Returns the records drained.
    @discardableResult
    private func service(_ source: RingSource) -> Int {
        guard sources[ObjectIdentifier(source.ring)] === source else { return 0 }
        drainPassesCell.store(drainPassesCell.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        source.consumer.acknowledgeWakeup()
        guard source.blockedOn == nil else { return 0 }
        var total = 0
        do throws(RingViolation) {
            while true {
                let drained = try drain(source, final: false, limit: batchSize)
                total += drained
                if let blocked = source.blockedOn {
                    pause(source, on: blocked)
                    return total
                }
                if drained == batchSize {
                    queue.async { [weak self, weak source] in
                        if let self, let source { self.service(source) }
                    }
                    return total
                }
                if try source.consumer.prepareToSleep() { return total }
            }
        } catch {
            quarantine(source, error)
        }
        return total
    }

    /// The producer broke the protocol: drop its ring at once, reading nothing more from it.
    private func quarantine(_ source: RingSource, _ violation: RingViolation) {
        sources.removeValue(forKey: ObjectIdentifier(source.ring))
        source.stopWaking()
        source.onViolation(violation)
    }

    /// One batch from `source`; sets `blockedOn` if an output would block (unless `final`).
    private func drain(_ source: RingSource, final: Bool, limit: Int) throws(RingViolation) -> Int {
        let drained: Int
        switch writer {
        case .syscall: drained = try drainWriting(source, final: final, limit: limit)
        case .uring(let batch): drained = try drainSubmitting(source, batch, final: final, limit: limit)
        }
        outputs.flush()
        return drained
    }

    /// write(2) per record.
    private func drainWriting(_ source: RingSource, final: Bool, limit: Int) throws(RingViolation) -> Int {
        var noBinding = 0, notGranted = 0
        let grant = source.grant
        let drained = try source.consumer.drain(limit: limit) { record in
            if let grant, !grant.admits(record) {
                notGranted += 1
                return true
            }
            if outputs.fansOut(record.outputID) {
                noBinding += fanOut(record)
                capture(record)
                return true
            }
            let descriptor = outputs.descriptor(record.outputID)
            guard descriptor >= 0 else {
                noBinding += 1
                capture(record)
                return true
            }
            if let tunnel = outputs.tunnel(record.outputID) {
                tunnels.append(record, outputID: record.outputID, descriptor: descriptor, tunnel: tunnel, outputs: outputs)
                capture(record)
                return true
            }
            let written = write(descriptor, record.frame.baseAddress, record.frame.count)
            switch settle(record.outputID, result: written >= 0 ? written : -Int(errno), length: record.frame.count,
                          timestamp: record.timestampNanoseconds, final: final) {
            case .done: capture(record); return true
            case .noBinding: noBinding += 1; capture(record); return true
            case .wouldBlock: source.blockedOn = record.outputID; return false
            }
        } beforeRelease: {
            tunnels.flush(outputs)
        }
        source.consumer.countDropsNoBinding(noBinding)
        source.counters.add(notGranted: notGranted, badRecordTotal: source.consumer.badRecords)
        return drained
    }

    /// The batch as one io_uring submission. The writes are issued together, so one may find its
    /// output full (EAGAIN) while a later one still goes out; ring order is kept by never writing a
    /// record again after a later one was written: a would-block before the batch's last finished
    /// write is dropped and counted as a write error (a clone is discardable), and only a
    /// would-block after it pauses the ring there, unreleased, to be offered again.
    private func drainSubmitting(_ source: RingSource, _ batch: UringBatch, final: Bool, limit: Int) throws(RingViolation) -> Int {
        let grant = source.grant
        var staged = 0
        let peeked = try source.consumer.peek(limit: min(limit, batch.capacity)) { record in
            defer { staged += 1 }
            guard let record else { return batch.skip(staged, .badRecord) }
            if let grant, !grant.admits(record) { return batch.skip(staged, .notGranted) }
            if outputs.fansOut(record.outputID) { return batch.skip(staged, .fanOut, record: record) }
            let descriptor = outputs.descriptor(record.outputID)
            if descriptor >= 0, let tunnel = outputs.tunnel(record.outputID) {
                tunnels.append(record, outputID: record.outputID, descriptor: descriptor, tunnel: tunnel, outputs: outputs)
                return batch.skip(staged, .tunnel, record: record)
            }
            batch.stage(staged, record, descriptor: descriptor)
        }
        guard peeked > 0 else { return 0 }
        if let failure = batch.submit(peeked) {
            // The ring itself failed (not a write): nothing of this batch is released; carry on
            // with write(2), which offers the same records again.
            logger.error("io_uring submission failed; the sink writes with write(2) from now on",
                         metadata: ["worker": "\(index)", "error": "\(failure)"])
            writer = .syscall
            return 0
        }
        // A remote output's frame is sent (or counted) by `tunnels` whatever happens to the rest
        // and never offered again (a second sequence number would be a gap that is no loss), so
        // it counts as finished: the ring never pauses before it.
        var lastFinished = -1
        for index in 0..<peeked where (batch.skipReason(index) == .none && batch.result(index) != -Int(EAGAIN))
            || batch.skipReason(index) == .tunnel {
            lastFinished = index
        }
        var consumed = 0, bad = 0, noBinding = 0, notGranted = 0
        walk: while consumed < peeked {
            switch batch.skipReason(consumed) {
            case .badRecord: bad += 1
            case .notGranted: notGranted += 1
            case .noBinding: noBinding += 1; capture(batch.record(consumed))
            case .tunnel: capture(batch.record(consumed))
            case .fanOut: noBinding += fanOut(batch.record(consumed)); capture(batch.record(consumed))
            case .none:
                let outputID = batch.outputID(consumed)
                switch settle(outputID, result: batch.result(consumed), length: batch.length(consumed),
                              timestamp: batch.timestamp(consumed), final: final || consumed < lastFinished) {
                case .done: capture(batch.record(consumed))
                case .noBinding: noBinding += 1; capture(batch.record(consumed))
                case .wouldBlock:
                    source.blockedOn = outputID
                    break walk
                }
            }
            consumed += 1
        }
        tunnels.flush(outputs)
        source.consumer.release(consumed, badRecords: bad)
        source.consumer.countDropsNoBinding(noBinding)
        source.counters.add(notGranted: notGranted, badRecordTotal: source.consumer.badRecords)
        return consumed
    }

    /// A copy of `record` to every member of its fan-out: write(2) to a TAP or port, settled as
    /// final (a member that would block drops its copy and nobody waits for it), or into
    /// `tunnels` for a remote one. Returns how many members are missing (removed, or their
    /// device gone), which count as no_binding.
    private func fanOut(_ record: RingRecord) -> Int {
        var missing = 0
        for member in outputs.members(record.outputID) {
            let descriptor = outputs.descriptor(member)
            guard descriptor >= 0 else {
                missing += 1
                continue
            }
            if let tunnel = outputs.tunnel(member) {
                tunnels.append(record, outputID: member, descriptor: descriptor, tunnel: tunnel, outputs: outputs)
                continue
            }
            let written = write(descriptor, record.frame.baseAddress, record.frame.count)
            if case .noBinding = settle(member, result: written >= 0 ? written : -Int(errno), length: record.frame.count,
                                        timestamp: record.timestampNanoseconds, final: true) {
                missing += 1
            }
        }
        return missing
    }

    private enum Delivery { case done, noBinding, wouldBlock }

    /// Accounts one finished write (`result`: bytes written or -errno). Errors other than
    /// would-block are counted and the record is consumed (a mirror clone is discardable); with
    /// `final` a would-block is such an error too.
    @inline(__always)
    private func settle(_ outputID: UInt32, result: Int, length: Int, timestamp: UInt64, final: Bool) -> Delivery {
        if result == length {
            outputs.delivered(outputID, bytes: length, timestamp: timestamp)
            return .done
        }
        switch result < 0 ? Int32(-result) : EMSGSIZE {
        case EAGAIN where !final:
            return .wouldBlock
        case EIO, EBADFD, ENETDOWN, ENXIO, ENODEV:
            // A TAP that is down answers EIO, one deleted under its fd EBADFD, a packet socket on
            // a downed port ENETDOWN/ENXIO.
            return .noBinding
        default:
            outputs.failed(outputID)
            return .done
        }
    }

    private func pause(_ source: RingSource, on outputID: UInt32) {
        source.blockedOn = outputID
        guard writeWatchers[outputID] == nil, let output = outputs[outputID] else { return }
        let watcher = DispatchSource.makeWriteSource(fileDescriptor: output.descriptor(forWorker: index).rawValue, queue: queue)
        watcher.setEventHandler { [unowned self] in
            self.stopWatching(outputID)
            self.resumeRings(blockedOn: outputID)
        }
        writeWatchers[outputID] = watcher
        watcher.activate()
        logger.debug("output would block; ring paused", metadata: ["output": "\(output.name)", "worker": "\(index)"])
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
