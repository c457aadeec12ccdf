import CSpanTapRing

/// A mirror source's counters: what the producer of one ring (an AF_XDP binding, an external
/// forwarder) did with the frames its rules selected, and what the sink refused of its records.
/// A ring's counters are read as this type (`HandoffRing.counters`), and instances (summed over
/// their bindings), bindings, producers and the detached producers' totals in status all carry
/// it; in JSON its fields sit beside the entry's own (flat, snake_case).
///
/// `fields` is the schema: the ring's counters are read, and `/metrics`, `spantap status` and
/// `--watch` are drawn, from it, so a new counter is a stored property here and one entry in
/// `fields` (plus, for a counter the ring keeps, its field in spantap_ring.h). It lives beside
/// the ring, where the counts are made, names for operators included, so there is one list.
public struct MirrorCounters: Equatable, Sendable {
    public var mirroredPackets: UInt64 = 0
    public var mirroredBytes: UInt64 = 0
    public var mirrorDropsQueueFull: UInt64 = 0
    public var mirrorDropsNoFrame: UInt64 = 0
    public var mirrorDropsNoBinding: UInt64 = 0
    public var mirrorOnceSuppressed: UInt64 = 0
    public var mirrorDropsRateLimited: UInt64 = 0
    public var filterRejected: UInt64 = 0
    public var rulesDisabled: UInt64 = 0
    public var mirrorDropsNotGranted: UInt64 = 0
    public var mirrorDropsBadRecord: UInt64 = 0
    public var spuriousWakeups: UInt64 = 0

    public init() {}

    /// One counter of the schema.
    public struct Field: Sendable {
        public let keyPath: WritableKeyPath<MirrorCounters, UInt64> & Sendable
        /// The property's name: the JSON key once the codec makes it snake_case.
        public let name: String
        /// The Prometheus name after the source's prefix (`spantap_binding_` ...), before `_total`.
        public let metric: String
        /// HELP text, completed with the source's name.
        public let help: String
        /// The status table's column.
        public let column: String
        /// `--watch`'s column (a rate per second), nil when it shows no rate for it.
        public let watch: String?
        /// A level, not a count: exported as a gauge, never summed over producers that left.
        public let gauge: Bool
        /// Its field in the ring's header (spantap_ring.h); nil for what spantapd's sink counts of an
        /// external producer's records (grant and record checks, wake-ups), which instances and
        /// bindings do not have.
        public let ring: (KeyPath<spantap_ring_header, UInt64> & Sendable)?
        public var externalOnly: Bool { ring == nil }

        init(_ keyPath: WritableKeyPath<MirrorCounters, UInt64> & Sendable, _ name: String, _ metric: String,
             ring: (KeyPath<spantap_ring_header, UInt64> & Sendable)?, column: String, watch: String? = nil,
             gauge: Bool = false, _ help: String) {
            self.keyPath = keyPath
            self.name = name
            self.metric = metric
            self.help = help
            self.column = column
            self.watch = watch
            self.gauge = gauge
            self.ring = ring
        }
    }

    private typealias Ring = spantap_ring_header

    public static let fields: [Field] = [
        Field(\.mirroredPackets, "mirroredPackets", "mirrored_packets", ring: \Ring.mirrored_packets,
              column: "MIRRORED", watch: "MIRRORED/s", "clones enqueued into the ring"),
        Field(\.mirroredBytes, "mirroredBytes", "mirrored_bytes", ring: \Ring.mirrored_bytes,
              column: "BYTES", "captured bytes of the clones enqueued"),
        Field(\.mirrorDropsQueueFull, "mirrorDropsQueueFull", "mirror_drops_queue_full", ring: \Ring.drops_queue_full,
              column: "DROP-FULL", watch: "FULL/s", "clones dropped: the ring was full"),
        Field(\.mirrorDropsNoFrame, "mirrorDropsNoFrame", "mirror_drops_no_frame", ring: \Ring.drops_no_frame,
              column: "DROP-NOFRAME", watch: "NOFRAME/s", "clones dropped: longer than a ring slot and no maximum-packet-length"),
        Field(\.mirrorDropsNoBinding, "mirrorDropsNoBinding", "mirror_drops_no_binding", ring: \Ring.drops_no_binding,
              column: "DROP-NOBIND", watch: "NOBIND/s", "records the sink dropped: output missing or down"),
        Field(\.mirrorOnceSuppressed, "mirrorOnceSuppressed", "mirror_once_suppressed", ring: \Ring.mirror_once_suppressed,
              column: "ONCE-SUPPRESSED", "egress copies not made: the ingress copy went to the same output (mirror-once)"),
        Field(\.mirrorDropsRateLimited, "mirrorDropsRateLimited", "mirror_drops_rate_limited", ring: \Ring.drops_rate_limited,
              column: "DROP-RATELIMIT", watch: "RATELIMIT/s", "clones not made: over the rule's max-packets-per-second"),
        Field(\.filterRejected, "filterRejected", "filter_rejected", ring: \Ring.filter_rejected,
              column: "FILTER-REJECTED", watch: "FILTERED/s", "frames a rule's filter rejected before sampling (no clone, no ring slot)"),
        Field(\.rulesDisabled, "rulesDisabled", "rules_disabled", ring: \Ring.rules_disabled,
              column: "RULES-DISABLED", gauge: true, "rules left out at the producer's last refresh: filter program missing or invalid"),
        Field(\.mirrorDropsNotGranted, "mirrorDropsNotGranted", "mirror_drops_not_granted", ring: nil,
              column: "DROP-NOTGRANTED", watch: "NOTGRANTED/s", "records outside the producer's rules, not delivered"),
        Field(\.mirrorDropsBadRecord, "mirrorDropsBadRecord", "mirror_drops_bad_record", ring: nil,
              column: "DROP-BADREC", "records whose lengths or direction were invalid, not delivered"),
        Field(\.spuriousWakeups, "spuriousWakeups", "spurious_wakeups", ring: nil,
              column: "SPURIOUS-WAKE", "wake-ups (eventfd writes) that found the ring empty"),
    ]

    /// The fields an instance or binding has (`external`: false) or an external producer has.
    public static func fields(external: Bool) -> [Field] {
        fields.filter { external || !$0.externalOnly }
    }

    /// Adds `more`'s values, levels included (summed over rings, `rules_disabled` is the rules
    /// disabled in any of them).
    public static func += (total: inout MirrorCounters, more: MirrorCounters) {
        for field in fields {
            total[keyPath: field.keyPath] &+= more[keyPath: field.keyPath]
        }
    }

    /// The counts alone, levels zeroed: what a producer that left adds to the totals kept for it.
    public var countsOnly: MirrorCounters {
        var counts = self
        for field in Self.fields where field.gauge { counts[keyPath: field.keyPath] = 0 }
        return counts
    }
}

// MARK: - JSON, flat beside the entry's own fields

extension MirrorCounters: Codable {
    private struct Key: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    /// Reads whichever fields are present in the object (an older spantapd's lack some: 0).
    public init(from decoder: any Decoder) throws {
        let object = try decoder.container(keyedBy: Key.self)
        for field in Self.fields {
            self[keyPath: field.keyPath] = try object.decodeIfPresent(UInt64.self, forKey: Key(stringValue: field.name)) ?? 0
        }
    }

    public func encode(to encoder: any Encoder) throws {
        try encode(to: encoder, external: true)
    }

    /// Writes the fields a source of this kind has into the object `encoder` is writing.
    public func encode(to encoder: any Encoder, external: Bool) throws {
        var object = encoder.container(keyedBy: Key.self)
        for field in Self.fields(external: external) {
            try object.encode(self[keyPath: field.keyPath], forKey: Key(stringValue: field.name))
        }
    }
}
