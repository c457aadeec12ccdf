import SpanTapRing

/// A status entry with mirror counters: instances, bindings, producers. Its own `Codable` covers
/// its own fields (its CodingKeys leave `mirror` out); `FlatEntry` writes the counters beside them.
public protocol MirrorSource: Codable {
    var mirror: MirrorCounters { get set }
    /// Whether the entry is an external producer: only those have the sink's own counters of
    /// their records (`MirrorCounters.Field.externalOnly`).
    static var externalProducer: Bool { get }
}

extension MirrorSource {
    public static var externalProducer: Bool { false }
}

/// One JSON object holding an entry's fields and its mirror counters, flat: the names scripts
/// and dashboards read stay the forwarder's (`mirrored_packets` beside `name`, not nested).
struct FlatEntry<Entry: MirrorSource>: Codable {
    var entry: Entry

    init(_ entry: Entry) { self.entry = entry }

    init(from decoder: any Decoder) throws {
        entry = try Entry(from: decoder)
        entry.mirror = try MirrorCounters(from: decoder)
    }

    func encode(to encoder: any Encoder) throws {
        try entry.encode(to: encoder)
        try entry.mirror.encode(to: encoder, external: Entry.externalProducer)
    }
}
