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
    private let programTable: UnsafeMutableRawPointer
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
        programTable = base + Int(SPANTAP_RING_PROGRAMS_OFFSET)
    }

    /// Replaces the table with `rules` (several per (ifindex, direction, vlanID) only if all of them
    /// carry filters no frame passes two of, spantap_ring.h's rule table; never a whole-port
    /// rule beside unit rules of the same interface and direction, at most
    /// `SPANTAP_RULE_CAPACITY` rules and `SPANTAP_PROGRAM_CAPACITY` distinct filters; the caller
    /// checks) and the table's flags. Rules and programs are written in one odd window (D).
    mutating func write(_ rules: [RingRule], mirrorOnce: Bool) {
        precondition(rules.count <= Int(SPANTAP_RULE_CAPACITY), "more rules than a ring's table holds")
        guard !retired else { return }
        let sorted = rules.sorted { $0.key < $1.key }
        let next = written &+ 2
        let changedAt = UInt32(truncatingIfNeeded: next)
        let previous = Dictionary(grouping: current, by: \.rule.key)
        current = sorted.map { rule in
            if let old = previous[rule.key]?.first(where: { $0.rule == rule }) { return old }
            return (rule, changedAt)
        }
        // Equal programs share one entry; a rule names its program by index + 1 (0: no filter).
        var programs: [FilterProgram] = []
        let references: [UInt32] = current.map { entry in
            guard let filter = entry.rule.filter else { return 0 }
            if let index = programs.firstIndex(of: filter) { return UInt32(index + 1) }
            programs.append(filter)
            return UInt32(programs.count)
        }
        precondition(programs.count <= Int(SPANTAP_PROGRAM_CAPACITY), "more filters than a ring's program table holds")

        generation.store(written &+ 1, ordering: .relaxed)
        atomicMemoryFence(ordering: .releasing) // (D)
        count.store(UInt32(current.count), ordering: .relaxed)
        flags.store(mirrorOnce ? SPANTAP_TABLE_MIRROR_ONCE : 0, ordering: .relaxed)
        for (index, entry) in current.enumerated() {
            let slot = entries + index * Int(SPANTAP_RULE_SIZE)
            func store(_ word: UInt32, at offset: Int) {
                Self.store(word, at: slot + offset)
            }
            func offset<T>(_ field: KeyPath<spantap_rule, T>) -> Int { MemoryLayout<spantap_rule>.offset(of: field)! }
            store(entry.rule.ifindex, at: offset(\.ifindex))
            // direction and filter share one 32-bit word (little-endian: direction first), as do
            // vlan_id and run_length.
            store(entry.rule.direction.rawValue | references[index] << 16, at: offset(\.direction))
            store(entry.rule.outputID, at: offset(\.output_id))
            store(entry.rule.rate, at: offset(\.rate))
            store(entry.rule.snapLength, at: offset(\.snap_length))
            store(entry.changed, at: offset(\.generation))
            store(UInt32(entry.rule.vlanID) | UInt32(entry.rule.runLength) << 16, at: offset(\.vlan_id))
            store(entry.rule.maxPacketsPerSecond, at: offset(\.max_packets_per_second))
        }
        writePrograms(programs)
        generation.store(next, ordering: .releasing) // (D)
        written = next
    }

    /// The program table's entries, inside the odd window: count, lengths, instructions (two
    /// words each, as the reader loads them).
    private func writePrograms(_ programs: [FilterProgram]) {
        func offset<T>(_ field: KeyPath<spantap_program_table, T>) -> Int { MemoryLayout<spantap_program_table>.offset(of: field)! }
        Self.store(UInt32(programs.count), at: programTable + offset(\.program_count))
        for (index, program) in programs.enumerated() {
            Self.store(UInt32(program.instructions.count), at: programTable + offset(\.lengths) + index * 4)
            let first = programTable + offset(\.programs) + index * Int(SPANTAP_FILTER_MAX_INSNS) * 8
            for (at, instruction) in program.instructions.enumerated() {
                Self.store(UInt32(instruction.code) | UInt32(instruction.jt) << 16 | UInt32(instruction.jf) << 24, at: first + at * 8)
                Self.store(instruction.k, at: first + at * 8 + 4)
            }
        }
    }

    private static func store(_ word: UInt32, at address: UnsafeMutableRawPointer) {
        UnsafeAtomic<UInt32>(at: address.assumingMemoryBound(to: UInt32.AtomicRepresentation.self)).store(word, ordering: .relaxed)
    }

    /// Tells the producer this ring is done with (spantap_ring.h, "Retirement"): it stops staging
    /// here at its next batch and attaches again. Final: later writes are ignored.
    mutating func retire() {
        retired = true
        generation.store(SPANTAP_RULES_RETIRED, ordering: .releasing) // (E)
    }
}
