import Atomics
import CSpanTapRing

/// spantapd's side of a ring's rule table: the seqlock writer of `spantap_ring.h`. The generation
/// and the rules last written are kept here, never read back from the mapping, which the producer
/// can write. Its pointers are into the ring's own mapping; the ring serializes writers (a Mutex).
// @unchecked: pointers into the ring's mapping; the ring's Mutex is the only way to reach it.
struct RuleTableWriter: @unchecked Sendable {
    private let generation: UnsafeAtomic<UInt64>
    private let count: UnsafeAtomic<UInt32>
    private let flags: UnsafeAtomic<UInt32>
    private let entries: UnsafeMutableRawPointer
    private var written: UInt64 = 0
    /// Once retired the table is never written again: the producer must see SPANTAP_RULES_RETIRED.
    private var retired = false
    /// Each rule last written, with the generation at which it last changed.
    private var current: [(rule: RingRule, changed: UInt32)] = []

    init(base: UnsafeMutableRawPointer) {
        let table = base + Int(SPANTAP_RING_RULES_OFFSET)
        generation = UnsafeAtomic(at: table.assumingMemoryBound(to: UInt64.AtomicRepresentation.self))
        count = UnsafeAtomic(at: (table + MemoryLayout<spantap_rule_table>.offset(of: \.rule_count)!)
            .assumingMemoryBound(to: UInt32.AtomicRepresentation.self))
        flags = UnsafeAtomic(at: (table + MemoryLayout<spantap_rule_table>.offset(of: \.flags)!)
            .assumingMemoryBound(to: UInt32.AtomicRepresentation.self))
        entries = table + MemoryLayout<spantap_rule_table>.offset(of: \.rules)!
    }

    /// Replaces the table with `rules` (at most one per (ifindex, direction, vlanID), never a
    /// whole-port rule beside unit rules of the same interface and direction, at most
    /// `SPANTAP_RULE_CAPACITY`; the caller checks) and the table's flags.
    mutating func write(_ rules: [RingRule], mirrorOnce: Bool) {
        precondition(rules.count <= Int(SPANTAP_RULE_CAPACITY), "more rules than a ring's table holds")
        guard !retired else { return }
        let sorted = rules.sorted { $0.key < $1.key }
        let next = written &+ 2
        let changedAt = UInt32(truncatingIfNeeded: next)
        let previous = Dictionary(current.map { ($0.rule.key, $0) }, uniquingKeysWith: { first, _ in first })
        current = sorted.map { rule in
            if let old = previous[rule.key], old.rule == rule { return old }
            return (rule, changedAt)
        }

        generation.store(written &+ 1, ordering: .relaxed)
        atomicMemoryFence(ordering: .releasing) // (D)
        count.store(UInt32(current.count), ordering: .relaxed)
        flags.store(mirrorOnce ? SPANTAP_TABLE_MIRROR_ONCE : 0, ordering: .relaxed)
        for (index, entry) in current.enumerated() {
            let slot = entries + index * Int(SPANTAP_RULE_SIZE)
            func store(_ word: UInt32, at field: KeyPath<spantap_rule, UInt32>) {
                let address = slot + MemoryLayout<spantap_rule>.offset(of: field)!
                UnsafeAtomic<UInt32>(at: address.assumingMemoryBound(to: UInt32.AtomicRepresentation.self)).store(word, ordering: .relaxed)
            }
            store(entry.rule.ifindex, at: \.ifindex)
            store(entry.rule.direction.rawValue, at: \.direction)
            store(entry.rule.outputID, at: \.output_id)
            store(entry.rule.rate, at: \.rate)
            store(entry.rule.snapLength, at: \.snap_length)
            store(entry.changed, at: \.generation)
            store(entry.rule.maxPacketsPerSecond, at: \.max_packets_per_second)
            // vlan_id and run_length share one 32-bit word (little-endian: vlan_id first).
            let units = UInt32(entry.rule.vlanID) | UInt32(entry.rule.runLength) << 16
            UnsafeAtomic<UInt32>(at: (slot + MemoryLayout<spantap_rule>.offset(of: \.vlan_id)!)
                .assumingMemoryBound(to: UInt32.AtomicRepresentation.self)).store(units, ordering: .relaxed)
        }
        generation.store(next, ordering: .releasing) // (D)
        written = next
    }

    /// Tells the producer this ring is done with (spantap_ring.h, "Retirement"): it stops staging
    /// here at its next batch and attaches again. Final: later writes are ignored.
    mutating func retire() {
        retired = true
        generation.store(SPANTAP_RULES_RETIRED, ordering: .releasing) // (E)
    }
}
