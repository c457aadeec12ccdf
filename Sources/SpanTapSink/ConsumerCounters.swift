import Atomics

/// What the sink counted of one ring, kept in the daemon's memory (not the shared header, which
/// the producer could rewrite). The ring's sink worker is the only writer; anyone reads with
/// relaxed loads.
public final class ConsumerCounters: Sendable {
    let notGrantedCell = ManagedAtomic<UInt64>(0)
    let badRecordCell = ManagedAtomic<UInt64>(0)
    let spuriousWakeupsCell = ManagedAtomic<UInt64>(0)

    init() {}

    /// `mirror_drops_not_granted`: records for an output, interface, direction or unit outside the grant.
    public var notGranted: UInt64 { notGrantedCell.load(ordering: .relaxed) }
    /// `mirror_drops_bad_record`: records whose lengths did not fit their slot.
    public var badRecord: UInt64 { badRecordCell.load(ordering: .relaxed) }
    /// `spurious_wakeups`: eventfd wake-ups that found the ring empty.
    public var spuriousWakeups: UInt64 { spuriousWakeupsCell.load(ordering: .relaxed) }

    func add(notGranted: Int, badRecordTotal: UInt64) {
        if notGranted > 0 {
            notGrantedCell.store(notGrantedCell.load(ordering: .relaxed) &+ UInt64(notGranted), ordering: .relaxed)
        }
        badRecordCell.store(badRecordTotal, ordering: .relaxed)
    }

    func countSpuriousWakeup() {
        spuriousWakeupsCell.store(spuriousWakeupsCell.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }
}
