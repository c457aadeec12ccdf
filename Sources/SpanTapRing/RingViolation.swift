/// A producer broke the ring protocol in a way no record-level check can absorb: its index no
/// longer describes a ring. The consumer reads nothing more from that ring; the sink quarantines
/// the producer (see invariant 8 and `spantap_ring.h`).
public enum RingViolation: Error, Equatable, Sendable, CustomStringConvertible {
    /// `producer_index` went below a value the consumer had already seen.
    case producerIndexMovedBackwards(from: UInt64, to: UInt64)
    /// `producer_index` ran more than `slot_count` ahead of `consumer_index`: slots would be read twice.
    case producerIndexTooFarAhead(producer: UInt64, consumer: UInt64, slotCount: Int)

    public var description: String {
        switch self {
        case .producerIndexMovedBackwards(let from, let to):
            "producer_index moved backwards from \(from) to \(to)"
        case .producerIndexTooFarAhead(let producer, let consumer, let slotCount):
            "producer_index \(producer) is \(producer &- consumer) ahead of consumer_index \(consumer), more than slot_count \(slotCount)"
        }
    }
}
