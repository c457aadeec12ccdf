import Dispatch
import Glibc
import Logging
import SpanTapRing
import Synchronization

/// Drains handoff rings into their outputs: `workers` serial Dispatch queues (`SinkWorker`), each
/// owning a fixed share of the rings, so every ring keeps one consumer and its order, and each
/// worker writes to its own queue of a multi-queue TAP (`SinkOutput.descriptors`), so several
/// CPUs can write at once, the way vhost-net scales.
///
/// Confinement, said once: everything a worker drains with lives on its queue; this type only
/// routes a call to the worker that owns the ring (or to every worker, for outputs) and waits.
/// The ring-to-worker map is the one thing shared, behind a mutex off the per-record path.
public final class SinkService: Sendable {
    public let batchSize: Int
    /// How frames are written, chosen once at start (io_uring unless off or unavailable).
    public let writeMethod: SinkWriteMethod
    private let workers: [SinkWorker]
    private let owners = Mutex<[ObjectIdentifier: Int]>([:])

    /// How many times the sink woke to drain a ring. At a steady load this grows with the offered
    /// rate divided by the batch size; while every ring is idle or paused it must not grow at all.
    public var drainPasses: UInt64 { workers.reduce(0) { $0 &+ $1.drainPasses } }

    public var workerCount: Int { workers.count }

    /// One worker per online CPU: a worker is idle unless it owns a ring with frames in it, and
    /// as many workers as CPUs lets a multi-queue TAP take writes from every CPU.
    public static var defaultWorkerCount: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// `ioUring: false` is `sink { io-uring off; }`. The choice, and why io_uring is not used when
    /// asked for, is logged once here.
    public init(workers workerCount: Int = 1, batchSize: Int = 256, ioUring: Bool = true,
                logger: Logger = Logger(label: "spantap.sink")) {
        precondition(workerCount >= 1, "the sink needs at least one worker")
        self.batchSize = batchSize
        var batches: [UringBatch] = []
        var unavailable: String? = ioUring ? nil : "turned off in the config (sink { io-uring off; })"
        while ioUring, unavailable == nil, batches.count < workerCount {
            switch UringBatch.open(capacity: batchSize) {
            case .success(let batch): batches.append(batch)
            case .failure(let errno): unavailable = SinkWriteMethod.unavailableReason(errno)
            }
        }
        if unavailable != nil { batches = [] }
        writeMethod = batches.isEmpty ? .write : .ioUring
        workers = (0..<workerCount).map { index in
            SinkWorker(index: index, batchSize: batchSize, uring: batches.isEmpty ? nil : batches[index], logger: logger)
        }
        if let unavailable {
            logger.info("sink writes with write(2), one frame per call", metadata: ["reason": "\(unavailable)", "workers": "\(workerCount)"])
        } else {
            logger.info("sink writes with io_uring", metadata: ["batch": "\(batchSize)", "workers": "\(workerCount)"])
        }
    }

    // MARK: Outputs

    /// Routes records with `output.id` to `output`, replacing any output with that id.
    public func addOutput(_ output: SinkOutput) {
        for worker in workers { worker.queue.sync { worker.addOutput(output) } }
    }

    /// Stops writing to output `id`. When this returns no worker uses its descriptors (none has a
    /// write to them in flight), so the caller may close them. Later records for `id` count as
    /// `mirror_drops_no_binding`.
    public func removeOutput(id: UInt32) {
        for worker in workers { worker.queue.sync { worker.removeOutput(id: id) } }
    }

    /// Routes records with `id` to every output in `members` (each an output added by its own
    /// id), or with nil stops: one ring slot per frame, a copy per member. Members never pause
    /// the ring: a member that would block drops its own copy (a write error of that member), so
    /// one slow or failing output never delays or drops another's copies.
    public func setFanOut(id: UInt32, members: [UInt32]?) {
        for worker in workers { worker.queue.sync { worker.setFanOut(id: id, members: members) } }
    }

    // MARK: Captures

    /// Starts copying the records `selections` name to `capture`'s client, on every worker.
    public func addCapture(_ capture: CaptureOutput, selections: Set<CaptureOutput.Selection>) {
        for worker in workers { worker.queue.sync { worker.addCapture(capture, selections: selections) } }
    }

    /// Replaces what capture `id` copies (the rules it was made from changed: a reload, an apply).
    public func setSelections(_ selections: Set<CaptureOutput.Selection>, forCapture id: Int) {
        for worker in workers { worker.queue.sync { worker.setSelections(selections, forCapture: id) } }
    }

    /// Stops copying to capture `id`. When this returns no worker touches its descriptor, so the
    /// caller may close it, and its counts are final.
    public func removeCapture(id: Int) {
        for worker in workers { worker.queue.sync { worker.removeCapture(id: id) } }
    }

    // MARK: Rings

    /// Starts draining `ring` (takes its consumer end) on the worker with the fewest rings, which
    /// keeps it for the ring's life. An external producer's ring gets its `grant`, and
    /// `onViolation` runs (on that worker's queue) if its producer breaks the protocol: by then
    /// the ring is already detached, nothing of it replayed. Returns what the sink counts of the ring
    /// (records refused, spurious wake-ups).
    @discardableResult
    public func attach(_ ring: HandoffRing, grant: RecordGrant? = nil,
                       onViolation: @escaping @Sendable (RingViolation) -> Void = { _ in }) -> ConsumerCounters {
        let worker = owners.withLock { owners in
            let loads = workers.map { worker in owners.values.count { $0 == worker.index } }
            let chosen = loads.indices.min { loads[$0] < loads[$1] }!
            owners[ObjectIdentifier(ring)] = chosen
            return workers[chosen]
        }
        return worker.queue.sync { worker.attach(ring, grant: grant, onViolation: onViolation) }
    }

    /// Replaces the routes an external producer's records may take (after a reload or apply).
    public func setGrant(_ grant: RecordGrant, for ring: HandoffRing) {
        guard let worker = owner(of: ring) else { return }
        worker.queue.sync { worker.setGrant(grant, for: ring) }
    }

    /// Stops draining `ring` after handing what is in it to the outputs (records whose output would
    /// block now are counted as write errors). At most one ring's worth (`slot_count` records) is
    /// drained, whatever the producer keeps publishing. Returns once the ring is released, with
    /// every write from it completed, with the violation that cut the drain short, if any.
    @discardableResult
    public func detach(_ ring: HandoffRing) -> RingViolation? {
        guard let worker = owners.withLock({ $0.removeValue(forKey: ObjectIdentifier(ring)).map { workers[$0] } }) else {
            return nil
        }
        return worker.queue.sync { worker.detach(ring) }
    }

    private func owner(of ring: HandoffRing) -> SinkWorker? {
        owners.withLock { $0[ObjectIdentifier(ring)].map { workers[$0] } }
    }
}
