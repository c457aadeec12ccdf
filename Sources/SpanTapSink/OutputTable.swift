import SpanTapRing

/// The sink's per-record view of its outputs: one flat entry per output id holding the output's
/// descriptor and what it delivered since the last flush. Delivering a record touches no object,
/// atomic or reference count; the tallies reach each output's shared `OutputCounters` once per
/// drained batch (`flush`). One per sink worker, confined to its queue.
final class OutputTable {
    struct Entry {
        /// -1: no output with this id (records for it count as no_binding).
        var descriptor: Int32 = -1
        /// A remote output's session, unretained: `outputs` holds the output, and so the session,
        /// for as long as the entry names it.
        var tunnel: Unmanaged<TunnelSession>?
        var packets: UInt64 = 0
        var bytes: UInt64 = 0
        var errors: UInt64 = 0
        /// The oldest producer timestamp among the records delivered since the last flush (0: none).
        var oldestTimestamp: UInt64 = 0
        /// A fan-out id: its records go to `members(id)`, not to a descriptor of its own.
        var fansOut = false
        /// A fan-out's members: where they are in `memberPool`.
        var members: Range<Int> = 0..<0
    }

    private var entries: UnsafeMutablePointer<Entry>
    private(set) var count = 0
    private var outputs: [SinkOutput?] = []
    /// Per fan-out id, its members' ids as set; and the same lists one after another in
    /// `memberPool`, which a record's copies are read from without taking a reference count.
    private var fanOuts: [[UInt32]] = []
    private var memberPool = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: 0)
    /// Which of an output's queue descriptors this table's worker writes to.
    private let worker: Int

    init(worker: Int) {
        self.worker = worker
        entries = .allocate(capacity: 1)
    }

    deinit {
        entries.deinitialize(count: count)
        entries.deallocate()
        memberPool.deallocate()
    }

    subscript(id: UInt32) -> SinkOutput? {
        Int(id) < outputs.count ? outputs[Int(id)] : nil
    }

    /// Installs (or with nil, removes) output `id`, flushing what the old one delivered first.
    func set(_ output: SinkOutput?, id: UInt32) {
        flush()
        let index = Int(id)
        if index >= count { grow(to: index + 1) }
        outputs[index] = output
        fanOuts[index] = []
        entries[index] = Entry(descriptor: output?.descriptor(forWorker: worker).rawValue ?? -1,
                               tunnel: output?.tunnel.map { Unmanaged.passUnretained($0) })
    }

    /// Makes `id` a fan-out to `members`, or with nil an id of nothing.
    func setFanOut(_ members: [UInt32]?, id: UInt32) {
        flush()
        let index = Int(id)
        if index >= count { grow(to: index + 1) }
        outputs[index] = nil
        fanOuts[index] = members ?? []
        entries[index] = Entry(fansOut: members != nil)
        packMembers()
    }

    /// Lays every fan-out's members out in `memberPool` afresh (on a change, never per record).
    private func packMembers() {
        memberPool.deallocate()
        memberPool = .allocate(capacity: fanOuts.reduce(0) { $0 + $1.count })
        var next = 0
        for index in 0..<count {
            let members = fanOuts[index]
            _ = UnsafeMutableBufferPointer(rebasing: memberPool[next..<(next + members.count)]).initialize(from: members)
            entries[index].members = next..<(next + members.count)
            next += members.count
        }
    }

    @inline(__always)
    func fansOut(_ id: UInt32) -> Bool {
        Int(id) < count && entries[Int(id)].fansOut
    }

    /// The members of fan-out `id`, valid until the next change to the table.
    @inline(__always)
    func members(_ id: UInt32) -> UnsafeBufferPointer<UInt32> {
        UnsafeBufferPointer(rebasing: memberPool[entries[Int(id)].members])
    }

    @inline(__always)
    func descriptor(_ id: UInt32) -> Int32 {
        Int(id) < count ? entries[Int(id)].descriptor : -1
    }

    /// Output `id`'s remote session, nil for a TAP or port (or no output).
    @inline(__always)
    func tunnel(_ id: UInt32) -> Unmanaged<TunnelSession>? {
        Int(id) < count ? entries[Int(id)].tunnel : nil
    }

    /// `timestamp`: the record's `timestamp_ns` (0 if its producer did not stamp it).
    @inline(__always)
    func delivered(_ id: UInt32, bytes: Int, timestamp: UInt64) {
        entries[Int(id)].packets &+= 1
        entries[Int(id)].bytes &+= UInt64(bytes)
        if timestamp != 0, entries[Int(id)].oldestTimestamp == 0 || timestamp < entries[Int(id)].oldestTimestamp {
            entries[Int(id)].oldestTimestamp = timestamp
        }
    }

    @inline(__always)
    func failed(_ id: UInt32) {
        entries[Int(id)].errors &+= 1
    }

    /// Publishes the tallies to the outputs' shared counters, and their latency: one clock read
    /// per flush (the batch's writes have finished), one histogram entry per output.
    func flush() {
        var now: UInt64 = 0
        for index in 0..<count where entries[index].packets | entries[index].errors != 0 {
            let entry = entries[index]
            outputs[index]?.counters.add(packets: entry.packets, bytes: entry.bytes, errors: entry.errors)
            if entry.oldestTimestamp != 0 {
                if now == 0 { now = RecordClock.now() }
                // A timestamp from the future is a producer's error, not a latency.
                if entry.oldestTimestamp <= now {
                    outputs[index]?.counters.latency.record(ageNanoseconds: now - entry.oldestTimestamp, count: entry.packets)
                }
            }
            entries[index].packets = 0
            entries[index].bytes = 0
            entries[index].errors = 0
            entries[index].oldestTimestamp = 0
        }
    }

    private func grow(to newCount: Int) {
        let grown = UnsafeMutablePointer<Entry>.allocate(capacity: newCount)
        grown.moveInitialize(from: entries, count: count)
        (grown + count).initialize(repeating: Entry(), count: newCount - count)
        entries.deallocate()
        entries = grown
        outputs += Array(repeating: nil, count: newCount - count)
        fanOuts += Array(repeating: [], count: newCount - count)
        count = newCount
    }
}
