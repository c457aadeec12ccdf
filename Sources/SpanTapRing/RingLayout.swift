import Atomics
import CSpanTapRing

/// Typed views of the shared header fields, at the offsets the C header defines: the consumer's
/// side and the counters' readers (the producer side is the C header's own functions).
///
/// Every field is reached through an `UnsafeAtomic`, so each access states its memory order; the
/// owner and order of each field are documented in `spantap_ring.h`.
// @unchecked: pointers into the ring's mapping, which outlives it; each field's order is the header's.
struct RingLayout: @unchecked Sendable {
    let producerIndex: UnsafeAtomic<UInt64>
    let consumerIndex: UnsafeAtomic<UInt64>
    let needWakeup: UnsafeAtomic<UInt32>
    let dropsNoBinding: UnsafeAtomic<UInt64>
    /// First byte of slot 0.
    let slots: UnsafeMutableRawPointer
    /// The whole header, for the C rule-table reader (`spantap_rules_refresh`).
    let header: UnsafeMutablePointer<spantap_ring_header>

    init(base: UnsafeMutableRawPointer) {
        header = base.assumingMemoryBound(to: spantap_ring_header.self)
        slots = base + Int(SPANTAP_RING_HEADER_SIZE)
        producerIndex = Self.field(\.producer_index, of: header)
        consumerIndex = Self.field(\.consumer_index, of: header)
        needWakeup = Self.field(\.need_wakeup, of: header)
        dropsNoBinding = Self.field(\.drops_no_binding, of: header)
    }

    /// The counter at `path` (one of `MirrorCounters.fields`' ring fields), for a relaxed load.
    func counter(_ path: KeyPath<spantap_ring_header, UInt64> & Sendable) -> UnsafeAtomic<UInt64> {
        Self.field(path, of: header)
    }

    private static func field<T: AtomicValue>(_ path: KeyPath<spantap_ring_header, T>,
                                              of header: UnsafeMutablePointer<spantap_ring_header>) -> UnsafeAtomic<T> {
        let offset = MemoryLayout<spantap_ring_header>.offset(of: path)!
        return UnsafeAtomic(at: (UnsafeMutableRawPointer(header) + offset).assumingMemoryBound(to: T.AtomicRepresentation.self))
    }
}
