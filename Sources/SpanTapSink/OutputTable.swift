/// The sink's per-record view of its outputs: one flat entry per output id holding the output's
/// descriptor and what it delivered since the last flush. Delivering a record touches no object,
/// atomic or reference count; the tallies reach each output's shared `OutputCounters` once per
/// drained batch (`flush`). One per sink worker, confined to its queue.
final class OutputTable {
    struct Entry {
        /// -1: no output with this id (records for it count as no_binding).
        var descriptor: Int32 = -1
        var packets: UInt64 = 0
        var bytes: UInt64 = 0
        var errors: UInt64 = 0
    }

    private var entries: UnsafeMutablePointer<Entry>
    private(set) var count = 0
    private var outputs: [SinkOutput?] = []
    /// Which of an output's queue descriptors this table's worker writes to.
    private let worker: Int

    init(worker: Int) {
        self.worker = worker
        entries = .allocate(capacity: 1)
    }

    deinit {
        entries.deinitialize(count: count)
        entries.deallocate()
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
        entries[index] = Entry(descriptor: output?.descriptor(forWorker: worker).rawValue ?? -1)
    }

    @inline(__always)
    func descriptor(_ id: UInt32) -> Int32 {
        Int(id) < count ? entries[Int(id)].descriptor : -1
    }

    @inline(__always)
    func delivered(_ id: UInt32, bytes: Int) {
        entries[Int(id)].packets &+= 1
        entries[Int(id)].bytes &+= UInt64(bytes)
    }

    @inline(__always)
    func failed(_ id: UInt32) {
        entries[Int(id)].errors &+= 1
    }

    /// Publishes the tallies to the outputs' shared counters.
    func flush() {
        for index in 0..<count where entries[index].packets | entries[index].errors != 0 {
            outputs[index]?.counters.add(packets: entries[index].packets, bytes: entries[index].bytes,
                                         errors: entries[index].errors)
            entries[index].packets = 0
            entries[index].bytes = 0
            entries[index].errors = 0
        }
    }

    private func grow(to newCount: Int) {
        let grown = UnsafeMutablePointer<Entry>.allocate(capacity: newCount)
        grown.moveInitialize(from: entries, count: count)
        (grown + count).initialize(repeating: Entry(), count: newCount - count)
        entries.deallocate()
        entries = grown
        outputs += Array(repeating: nil, count: newCount - count)
        count = newCount
    }
}
