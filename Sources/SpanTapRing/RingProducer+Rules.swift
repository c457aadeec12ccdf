import CSpanTapRing

/// The producer's rules: a private copy of the ring's rule table, refreshed once per batch, and
/// per-rule sampling, all through the C header's functions (the ones any external producer uses),
/// so there is one rule mechanism. Rules are named by their index in the copy, valid until the
/// next `refreshRules()` that returns true.
extension RingProducer {
    /// Once per batch: true if the rules changed since the last call (one acquire load when not).
    @inlinable @inline(__always)
    public mutating func refreshRules() -> Bool {
        spantap_rules_refresh(rules, header) == SPANTAP_REFRESH_CHANGED
    }

    /// The first rule for frames crossing `ifindex` in `direction`, or -1 if they are not mirrored.
    @inlinable
    public func findRule(ifindex: UInt32, direction: MirrorDirection) -> Int32 {
        spantap_rules_find(rules, ifindex, direction.rawValue)
    }

    /// Whether rule `index` (from `findRule`) is a unit's: the port is then mirrored by VLAN unit
    /// only, and each frame's rule is `findUnitRule`'s.
    @inlinable @inline(__always)
    public func isUnitRule(_ index: Int32) -> Bool {
        firstRule[Int(index)].vlan_id != 0
    }

    /// For a port mirrored by unit: the rule for `frame`'s outer VLAN id, or -1.
    @inlinable @inline(__always)
    public func findUnitRule(from first: Int32, frame: UnsafeRawBufferPointer) -> Int32 {
        spantap_rules_find_unit(rules, first, spantap_frame_vlan(frame.baseAddress, UInt32(truncatingIfNeeded: frame.count)))
    }

    /// The rule that takes `frame`, starting at rule `index` (`spantap_rules_select`): `index`
    /// itself for a rule without a filter (a load and a test), else the first rule of its
    /// (ifindex, direction, unit) whose filter accepts the frame, or -1 when every one rejected it
    /// (counted as `filter_rejected` here). Runs before `sample`, so a rejected frame does not
    /// advance a 1-in-N count.
    @inlinable @inline(__always)
    public mutating func selectRule(_ index: Int32, frame: UnsafeRawBufferPointer) -> Int32 {
        if firstRule[Int(index)].filter == 0 { return index }
        return runFilters(from: index, frame: frame)
    }

    @usableFromInline @inline(never)
    mutating func runFilters(from index: Int32, frame: UnsafeRawBufferPointer) -> Int32 {
        let selected = spantap_rules_select(rules, index, frame.baseAddress ?? UnsafeRawPointer(rules),
                                            UInt32(truncatingIfNeeded: frame.count))
        if selected < 0 { spantap_producer_count_filtered(producer) }
        return selected
    }

    /// Whether rule `index` has a filter (then `selectRule` must run before `sample`).
    @inlinable @inline(__always)
    public func isFiltered(_ index: Int32) -> Bool {
        firstRule[Int(index)].filter != 0
    }

    /// Once per batch, with the batch's CLOCK_MONOTONIC time: refills max-packets-per-second
    /// budgets (one compare when no rule has a limit).
    @inlinable @inline(__always)
    public mutating func tick(nanoseconds: UInt64) {
        spantap_rules_tick(rules, nanoseconds)
    }

    /// Counts one frame under rule `index` (rate, run-length, then max-packets-per-second): true to
    /// stage it. A selected frame over the rule's limit is counted as `mirror_drops_rate_limited`.
    @inlinable @inline(__always)
    public mutating func sample(_ index: Int32) -> Bool {
        switch spantap_rules_sample(rules, index) {
        case SPANTAP_SKIP: return false
        case SPANTAP_MIRROR: return true
        default:
            countRateLimited()
            return false
        }
    }

    /// Rule `index`'s sampling state, for a caller that samples one rule per frame: `skips(_:)`
    /// on it is `sample`'s common case without finding the rule again. Valid until the next
    /// `refreshRules()` that returns true.
    @inlinable
    public func samplingState(ofRule index: Int32) -> UnsafeMutablePointer<UInt64> {
        (UnsafeMutableRawPointer(rules) + MemoryLayout<spantap_rule_cache>.offset(of: \.state)!)
            .assumingMemoryBound(to: UInt64.self) + Int(index)
    }

    /// True if the frame is skipped (and counted) under the rule whose state this is; false:
    /// `sample` decides (a sampled frame, a run, a limit).
    @inlinable @inline(__always)
    public static func skips(_ state: UnsafeMutablePointer<UInt64>) -> Bool {
        spantap_rules_skip(state) != 0
    }

    @usableFromInline @inline(never)
    mutating func countRateLimited() {
        spantap_producer_count_rate_limited(producer)
    }

    @inlinable @inline(__always)
    public func outputID(ofRule index: Int32) -> UInt32 {
        firstRule[Int(index)].output_id
    }

    /// The table's mirror-once flag: an egress copy for an output the ingress copy already went to
    /// is not made (`countSuppressed`).
    @inlinable @inline(__always)
    public var mirrorOnce: Bool {
        rules.pointee.flags & SPANTAP_TABLE_MIRROR_ONCE != 0
    }

    /// `stage` under rule `index`: its ifindex, direction, output id and snap length.
    @inlinable @inline(__always)
    public mutating func stage(_ frame: UnsafeRawBufferPointer, ruleAt index: Int32, timestampNanoseconds: UInt64) -> EnqueueResult {
        stage(frame, entry: firstRule + Int(index), timestampNanoseconds: timestampNanoseconds)
    }

    /// Counts an egress copy not made because of mirror-once (`mirror_once_suppressed`).
    @inlinable
    public mutating func countSuppressed() {
        spantap_producer_count_suppressed(producer)
    }

    /// Rule `index` as a value (tests, logs; not for the per-frame path).
    public func rule(at index: Int32) -> RingRule? {
        let entry = firstRule[Int(index)]
        guard let direction = MirrorDirection(rawValue: UInt32(entry.direction)) else { return nil }
        return RingRule(ifindex: entry.ifindex, direction: direction, vlanID: entry.vlan_id, outputID: entry.output_id,
                        rate: entry.rate, runLength: entry.run_length, snapLength: entry.snap_length,
                        maxPacketsPerSecond: entry.max_packets_per_second, filter: program(Int(entry.filter)))
    }

    /// Program `reference` - 1 of the copy, as the producer validated it (nil for 0).
    func program(_ reference: Int) -> FilterProgram? {
        guard reference > 0 else { return nil }
        let cache = UnsafeRawPointer(rules)
        let length = (cache + MemoryLayout<spantap_rule_cache>.offset(of: \.program_lengths)!)
            .assumingMemoryBound(to: UInt32.self)[reference - 1]
        let first = (cache + MemoryLayout<spantap_rule_cache>.offset(of: \.programs)!)
            .assumingMemoryBound(to: spantap_filter_insn.self) + (reference - 1) * Int(SPANTAP_FILTER_MAX_INSNS)
        return try? FilterProgram.validated(Array(UnsafeBufferPointer(start: first, count: Int(length)))).get()
    }

    /// Rules of the table the producer left out at its last refresh (program missing or invalid).
    public var disabledRules: Int { Int(rules.pointee.disabled) }
}
