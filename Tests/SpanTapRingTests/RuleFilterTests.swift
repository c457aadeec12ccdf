import CSpanTapRing
import Testing
@testable import SpanTapRing

/// Filters in the ring (spantap_ring.h, "Filters"): spantapd's program table writer against the
/// header's C reader and per-frame filter, through the producer API spantapd's bindings use.
@Suite struct RuleFilterTests {
    /// `ip proto 17` for an untagged IPv4 frame, by hand: ldb [23]; jeq #17; ret #262144; ret #0.
    static let udpOnly = only(protocol: 17)

    static func only(protocol number: UInt32) -> FilterProgram {
        try! FilterProgram.validated([
            spantap_filter_insn(code: UInt16(SPANTAP_BPF_LD_B_ABS.rawValue), jt: 0, jf: 0, k: 23),
            spantap_filter_insn(code: UInt16(SPANTAP_BPF_JEQ_K.rawValue), jt: 0, jf: 1, k: number),
            spantap_filter_insn(code: UInt16(SPANTAP_BPF_RET_K.rawValue), jt: 0, jf: 0, k: 262_144),
            spantap_filter_insn(code: UInt16(SPANTAP_BPF_RET_K.rawValue), jt: 0, jf: 0, k: 0),
        ]).get()
    }

    static func frame(protocol number: UInt8) -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: 60)
        frame[12] = 0x08
        frame[23] = number
        return frame
    }

    static func ring() throws -> HandoffRing {
        try HandoffRing.create(name: "test-filters", geometry: RingGeometry(slotCount: 16, slotSize: 128))
    }

    /// Offers `frames` received on ifindex 7 to `producer` as a binding does (find, filter,
    /// sample, stage); returns the output each was staged for, nil where none.
    static func offer(_ frames: [[UInt8]], to producer: inout RingProducer) -> [UInt32?] {
        frames.map { frame in
            frame.withUnsafeBytes { bytes in
                var rule = producer.findRule(ifindex: 7, direction: .received)
                if rule >= 0 { rule = producer.selectRule(rule, frame: bytes) }
                guard rule >= 0, producer.sample(rule) else { return nil }
                let staged = producer.stage(bytes, ruleAt: rule, timestampNanoseconds: 1) == .enqueued
                producer.publish()
                return staged ? producer.outputID(ofRule: rule) : nil
            }
        }
    }

    @Test func aRejectedFrameTakesNoSlotAndDoesNotAdvanceTheCount() throws {
        let ring = try Self.ring()
        var producer = ring.makeProducer()
        ring.publishRules([RingRule(ifindex: 7, outputID: 1, rate: 2, filter: Self.udpOnly)])
        let refreshed0 = producer.refreshRules()
        #expect(refreshed0)
        let udp = Self.frame(protocol: 17), icmp = Self.frame(protocol: 1)
        // The UDP frames are the filter's 1st, 2nd, 3rd and 4th: rate 2 takes the 1st and 3rd.
        let staged = Self.offer([udp, icmp, udp, icmp, udp, udp], to: &producer)
        #expect(staged == [1, nil, nil, nil, 1, nil])
        let counters = ring.counters
        #expect(counters.filterRejected == 2 && counters.mirroredPackets == 2 && counters.rulesDisabled == 0)
        #expect(ring.queued == 2, "only the staged frames took slots")
        let held = producer.rule(at: 0)?.filter
        #expect(held == Self.udpOnly, "the producer holds the program spantapd wrote")
    }

    /// One firewall filter's terms mirroring one port to two instances are two rules of one
    /// (ifindex, direction, unit): the first whose filter accepts a frame takes it, a frame both
    /// reject is counted once, and each rule keeps its own 1-in-N count.
    @Test func rulesSharingAPortAreTriedInOrderUntilAFilterAccepts() throws {
        let ring = try Self.ring()
        var producer = ring.makeProducer()
        ring.publishRules([RingRule(ifindex: 7, outputID: 1, rate: 2, filter: Self.udpOnly),
                           RingRule(ifindex: 7, outputID: 2, filter: Self.only(protocol: 1))])
        let refreshed = producer.refreshRules()
        #expect(refreshed)
        let udp = Self.frame(protocol: 17), icmp = Self.frame(protocol: 1), tcp = Self.frame(protocol: 6)
        let staged = Self.offer([udp, icmp, tcp, udp, icmp, udp], to: &producer)
        #expect(staged == [1, 2, nil, nil, 2, 1], "UDP 1 in 2 to output 1, every ICMP to output 2, TCP to neither")
        let counters = ring.counters
        #expect(counters.filterRejected == 1 && counters.mirroredPackets == 4, "\(counters)")
    }

    @Test func rulesWithEqualProgramsShareOneEntry() throws {
        let ring = try Self.ring()
        ring.publishRules([RingRule(ifindex: 7, outputID: 1, filter: Self.udpOnly), RingRule(ifindex: 8, outputID: 2, filter: Self.udpOnly),
                           RingRule(ifindex: 9, outputID: 3)])
        let table = UnsafeRawPointer(ring.layout.header) + Int(SPANTAP_RING_PROGRAMS_OFFSET)
        #expect(table.load(as: UInt32.self) == 1, "one program for two rules")
        var producer = ring.makeProducer()
        let refreshed1 = producer.refreshRules()
        #expect(refreshed1)
        var filtered: [Bool] = []
        for ifindex: UInt32 in [7, 8, 9] { filtered.append(producer.isFiltered(producer.findRule(ifindex: ifindex, direction: .received))) }
        #expect(filtered == [true, true, false])
    }

    /// A program that fails validation, or a reference past the table's programs, leaves its rule
    /// out of the producer's copy (counted), and the other rules work as before.
    @Test(arguments: ["invalid opcode", "reference out of range", "length beyond the maximum"])
    func aRuleWhoseProgramCannotRunIsLeftOutAndCounted(damage: String) throws {
        let ring = try Self.ring()
        var producer = ring.makeProducer()
        ring.publishRules([RingRule(ifindex: 7, outputID: 1, filter: Self.udpOnly), RingRule(ifindex: 9, outputID: 3)])
        let refreshed2 = producer.refreshRules()
        #expect(refreshed2)
        let base = UnsafeMutableRawPointer(ring.layout.header)
        let programs = base + Int(SPANTAP_RING_PROGRAMS_OFFSET)
        switch damage {
        case "invalid opcode":
            (programs + MemoryLayout<spantap_program_table>.offset(of: \.programs)!).storeBytes(of: UInt16(0xffff), as: UInt16.self)
        case "reference out of range":
            let rules = base + Int(SPANTAP_RING_RULES_OFFSET) + MemoryLayout<spantap_rule_table>.offset(of: \.rules)!
            (rules + MemoryLayout<spantap_rule>.offset(of: \.filter)!).storeBytes(of: UInt16(60), as: UInt16.self)
        default:
            (programs + MemoryLayout<spantap_program_table>.offset(of: \.lengths)!).storeBytes(of: UInt32(257), as: UInt32.self)
        }
        // As spantapd's next rewrite would: a new even generation.
        (base + Int(SPANTAP_RING_RULES_OFFSET)).assumingMemoryBound(to: UInt64.self).pointee += 2
        let refreshed3 = producer.refreshRules()
        #expect(refreshed3)
        let damaged = producer.findRule(ifindex: 7, direction: .received), other = producer.findRule(ifindex: 9, direction: .received)
        #expect(damaged == -1, "the damaged rule is out")
        #expect(other >= 0, "the other rule stays")
        let disabled = producer.disabledRules
        #expect(disabled == 1 && ring.counters.rulesDisabled == 1)
        let staged = Self.offer([Self.frame(protocol: 17)], to: &producer)
        #expect(staged == [nil])
    }

    @Test func aFilterChangeRestartsTheCountOfThatRuleOnly() throws {
        let ring = try Self.ring()
        var producer = ring.makeProducer()
        let rules = [RingRule(ifindex: 7, outputID: 1, rate: 4), RingRule(ifindex: 8, outputID: 2, rate: 4)]
        ring.publishRules(rules)
        let refreshed4 = producer.refreshRules()
        #expect(refreshed4)
        for index: Int32 in [0, 1] { for _ in 0..<2 { _ = producer.sample(index) } } // both 2 into their period
        var changed = rules
        changed[1].filter = Self.udpOnly
        ring.publishRules(changed)
        let refreshed5 = producer.refreshRules()
        #expect(refreshed5)
        var kept: [Bool] = [], restarted: [Bool] = []
        for _ in 0..<4 { kept.append(producer.sample(0)) }
        for _ in 0..<4 { restarted.append(producer.sample(1)) }
        #expect(kept == [false, false, true, false], "unchanged rule: count kept")
        #expect(restarted == [true, false, false, false], "new filter: count restarted")
    }
}
