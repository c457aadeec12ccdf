import CSpanTapRing
import Dispatch
import Synchronization
import Testing
@testable import SpanTapRing

/// The rule table (spantap_ring.h, "Rule table protocol"): spantapd's Swift writer against the
/// header's C reader, the one every producer, ours included, uses.
@Suite struct RuleTableTests {
    /// A private rule cache as a producer keeps it.
    final class Cache {
        let pointer = UnsafeMutablePointer<spantap_rule_cache>.allocate(capacity: 1)
        init() { pointer.initialize(to: spantap_rule_cache()) }
        deinit { pointer.deallocate() }

        func refresh(_ ring: HandoffRing) -> Int32 { spantap_rules_refresh(pointer, ring.layout.header).rawValue }
        var rules: [spantap_rule] {
            withUnsafeBytes(of: pointer.pointee.rules) { Array($0.bindMemory(to: spantap_rule.self).prefix(Int(pointer.pointee.count))) }
        }
        func find(_ ifindex: UInt32, _ direction: MirrorDirection) -> Int32 { spantap_rules_find(pointer, ifindex, direction.rawValue) }
        func sample(_ index: Int32) -> Bool { spantap_rules_sample(pointer, index) == SPANTAP_MIRROR }
        func tick(_ nanoseconds: UInt64) { spantap_rules_tick(pointer, nanoseconds) }
    }

    static func ring() throws -> HandoffRing {
        try HandoffRing.create(name: "test-rules", geometry: RingGeometry(slotCount: 8, slotSize: 128))
    }

    @Test func aProducerSeesRewrittenRulesSortedAndFindsThem() throws {
        let ring = try Self.ring()
        let cache = Cache()
        #expect(cache.refresh(ring) == 0, "nothing published yet: generation 0 on both sides")
        ring.publishRules([RingRule(ifindex: 9, outputID: 1, rate: 10), RingRule(ifindex: 3, direction: .transmitted, outputID: 2),
                           RingRule(ifindex: 3, outputID: 0, snapLength: 128)])
        #expect(cache.refresh(ring) == 1)
        #expect(cache.refresh(ring) == 0, "unchanged: one load, no copy")
        #expect(cache.rules.map { [$0.ifindex, UInt32($0.direction), $0.output_id] } == [[3, 0, 0], [3, 1, 2], [9, 0, 1]])
        #expect(cache.find(3, .transmitted) == 1 && cache.find(9, .received) == 2 && cache.find(9, .transmitted) == -1)
        #expect(cache.find(4, .received) == -1 && cache.find(1, .received) == -1)
        #expect(cache.rules[0].snap_length == 128 && cache.rules[2].rate == 10)
    }

    /// `spantap_rules_sample`: packets 0, N, 2N, ... of the rule's own count, no division.
    @Test(arguments: [0, 1, 2, 3, 7, 64, 1000, 1024] as [UInt32]) func sampling(rate: UInt32) throws {
        let ring = try Self.ring()
        ring.publishRules([RingRule(ifindex: 1, outputID: 0, rate: rate)])
        let cache = Cache()
        _ = cache.refresh(ring)
        let picked = (0..<10_007).filter { _ in cache.sample(0) }
        #expect(picked == Array(stride(from: 0, to: 10_007, by: Int(max(rate, 1)))))
    }

    /// Run-length N: after each sampled packet the next N too; rate 10, run-length 2 takes 3 in 10.
    @Test func runLengthMirrorsTheFramesAfterEachSample() throws {
        let ring = try Self.ring()
        ring.publishRules([RingRule(ifindex: 1, outputID: 0, rate: 10, runLength: 2), RingRule(ifindex: 2, outputID: 0, rate: 2, runLength: 5)])
        let cache = Cache()
        _ = cache.refresh(ring)
        let picked = (0..<1000).filter { _ in cache.sample(0) }
        #expect(picked.count == 300)
        #expect(picked.prefix(6) == [0, 1, 2, 10, 11, 12])
        #expect((0..<100).allSatisfy { _ in cache.sample(1) }, "a run longer than the rate mirrors everything")
    }

    /// max-packets-per-second: a bucket of a tenth of a second, refilled per tick by the elapsed
    /// time (no division); selected frames past it are SPANTAP_OVER_LIMIT.
    @Test func maxPacketsPerSecondBoundsMirroredFramesPerSecond() throws {
        let ring = try Self.ring()
        ring.publishRules([RingRule(ifindex: 1, outputID: 0, maxPacketsPerSecond: 1000)])
        let cache = Cache()
        _ = cache.refresh(ring)
        var mirrored = 0, overLimit = 0
        // 20 000 frames per second for 3 s, ticked every millisecond (20 frames per tick).
        for millisecond in 1...3000 {
            cache.tick(UInt64(millisecond) * 1_000_000 + 5_000_000_000)
            for _ in 0..<20 {
                switch spantap_rules_sample(cache.pointer, 0) {
                case SPANTAP_MIRROR: mirrored += 1
                case SPANTAP_OVER_LIMIT: overLimit += 1
                default: break
                }
            }
        }
        // The first tick fills the bucket (100 clones); then 1 per millisecond.
        #expect(mirrored == 100 + 2999, "mirrored \(mirrored)")
        #expect(mirrored + overLimit == 60_000)
    }

    /// Units of one port sort together after a lookup by port, and each frame finds its unit by tag.
    @Test func unitRulesAreFoundByTheFramesOuterTag() throws {
        let ring = try Self.ring()
        ring.publishRules([RingRule(ifindex: 4, vlanID: 200, outputID: 2), RingRule(ifindex: 4, vlanID: 100, outputID: 1),
                           RingRule(ifindex: 5, outputID: 3)])
        let cache = Cache()
        _ = cache.refresh(ring)
        let first = cache.find(4, .received)
        #expect(first == 0 && cache.rules[0].vlan_id == 100 && cache.rules[5 - 4].vlan_id == 200)
        func frame(type: UInt16, vid: UInt16) -> [UInt8] {
            Array(repeating: 0, count: 12) + [UInt8(type >> 8), UInt8(type & 0xff), UInt8(vid >> 8), UInt8(vid & 0xff)] + Array(repeating: 0, count: 50)
        }
        for (bytes, expected) in [(frame(type: 0x8100, vid: 200), 1), (frame(type: 0x88a8, vid: 100), 0),
                                  (frame(type: 0x8100, vid: 300), -1), (frame(type: 0x0800, vid: 100), -1)] as [([UInt8], Int32)] {
            let found = bytes.withUnsafeBytes { spantap_rules_find_unit(cache.pointer, first, spantap_frame_vlan($0.baseAddress, UInt32($0.count))) }
            #expect(found == expected)
        }
        #expect(cache.rules[2].vlan_id == 0, "a whole-port rule has unit 0")
    }

    @Test func aRuleThatChangedRestartsItsCountTheOthersKeepTheirs() throws {
        let ring = try Self.ring()
        ring.publishRules([RingRule(ifindex: 1, outputID: 0, rate: 4), RingRule(ifindex: 2, outputID: 0, rate: 4)])
        let cache = Cache()
        _ = cache.refresh(ring)
        for index: Int32 in [0, 1] { _ = (0..<2).map { _ in cache.sample(index) } } // both 2 into their period of 4
        ring.publishRules([RingRule(ifindex: 1, outputID: 0, rate: 4), RingRule(ifindex: 2, outputID: 1, rate: 4)])
        #expect(cache.refresh(ring) == 1)
        #expect((0..<4).map { _ in cache.sample(0) } == [false, false, true, false], "unchanged rule: count kept")
        #expect((0..<4).map { _ in cache.sample(1) } == [true, false, false, false], "changed rule: count restarted")
    }

    @Test func aTableBeingWrittenIsNotRead() throws {
        let ring = try Self.ring()
        ring.publishRules([RingRule(ifindex: 1, outputID: 5)])
        let cache = Cache()
        #expect(cache.refresh(ring) == 1)
        ring.layout.header.withMemoryRebound(to: UInt8.self, capacity: Int(SPANTAP_RING_HEADER_SIZE)) { bytes in
            let generation = UnsafeMutableRawPointer(bytes + Int(SPANTAP_RING_RULES_OFFSET)).assumingMemoryBound(to: UInt64.self)
            generation.pointee += 1 // odd: mid-update
        }
        #expect(cache.refresh(ring) == -1)
        #expect(cache.rules.first?.output_id == 5, "the old rules stay in use")
    }

    /// Retirement (spantap_ring.h, "Retirement"): the producer is told at its next refresh, whatever
    /// its copy's generation, and no rewrite after it can make the ring look alive again.
    @Test func aRetiredRingSaysSoAtTheNextRefreshAndStaysRetired() throws {
        let ring = try Self.ring()
        ring.publishRules([RingRule(ifindex: 1, outputID: 5)])
        let cache = Cache()
        #expect(cache.refresh(ring) == SPANTAP_REFRESH_CHANGED.rawValue)
        ring.retire()
        #expect(cache.refresh(ring) == SPANTAP_REFRESH_RETIRED.rawValue)
        ring.publishRules([RingRule(ifindex: 2, outputID: 6)])
        #expect(cache.refresh(ring) == SPANTAP_REFRESH_RETIRED.rawValue, "a retired table is never written again")
        #expect(cache.rules.first?.output_id == 5, "the cache is left as it was: the producer decides what to do")
        spantap_rules_forget(cache.pointer)
        #expect(cache.rules.isEmpty)
    }

    /// One thread rewrites the table as fast as it can; another refreshes in a tight loop. Every
    /// copy the reader accepts must be one table the writer wrote whole: in table k every rule
    /// carries k in three fields and the rule count is 30 * (k % 7) + 1 (large tables keep the
    /// writer's odd window long, so the two overlap often).
    @Test func aReaderNeverAcceptsATornTable() throws {
        let ring = try Self.ring()
        let stop = Atomic<Bool>(false)
        let writes = Atomic<Int>(0)
        let writer = DispatchWorkItem {
            var k: UInt32 = 1
            while !stop.load(ordering: .relaxed) {
                let count = 30 * Int(k % 7) + 1
                ring.publishRules((0..<count).map { i in
                    RingRule(ifindex: UInt32(i + 1), outputID: k, rate: k ^ 0x5a5a, snapLength: k &* 3)
                })
                k &+= 1
                writes.add(1, ordering: .relaxed)
            }
        }
        DispatchQueue.global().async(execute: writer)
        let cache = Cache()
        var accepted = 0, torn = 0, busy = 0
        // At least a second, and on until 100 tables were accepted: with the whole suite running
        // beside it on 2 cores, this thread may get little CPU in any one second (at most 20 s).
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> UInt64 { DispatchTime.now().uptimeNanoseconds - start }
        while elapsed() < 1_000_000_000 || (accepted <= 100 && elapsed() < 20_000_000_000) {
            // Forget the copy, so every pass reads the whole table at whatever point the writer is.
            cache.pointer.pointee.generation = 0
            switch cache.refresh(ring) {
            case 1:
                accepted += 1
                let rules = cache.rules
                let k = rules.first?.output_id ?? 0
                let whole = rules.count == 30 * Int(k % 7) + 1 && rules.enumerated().allSatisfy { i, rule in
                    rule.ifindex == UInt32(i + 1) && rule.output_id == k && rule.rate == k ^ 0x5a5a && rule.snap_length == k &* 3
                }
                if !whole { torn += 1 }
            case -1: busy += 1
            default: break
            }
        }
        stop.store(true, ordering: .relaxed)
        writer.wait()
        #expect(torn == 0, "\(torn) torn tables accepted of \(accepted)")
        #expect(accepted > 100, "the reader must have seen many tables (accepted \(accepted), busy \(busy), writes \(writes.load(ordering: .relaxed)))")
    }
}
