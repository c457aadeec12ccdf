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
    let mirroredPackets: UnsafeAtomic<UInt64>
    let mirroredBytes: UnsafeAtomic<UInt64>
    let dropsQueueFull: UnsafeAtomic<UInt64>
    let dropsNoFrame: UnsafeAtomic<UInt64>
    let mirrorOnceSuppressed: UnsafeAtomic<UInt64>
    let dropsRateLimited: UnsafeAtomic<UInt64>
    let filterRejected: UnsafeAtomic<UInt64>
    let rulesDisabled: UnsafeAtomic<UInt64>
    let consumerIndex: UnsafeAtomic<UInt64>
    let needWakeup: UnsafeAtomic<UInt32>
    let dropsNoBinding: UnsafeAtomic<UInt64>
    /// First byte of slot 0.
    let slots: UnsafeMutableRawPointer
    /// The whole header, for the C rule-table reader (`spantap_rules_refresh`).
    let header: UnsafeMutablePointer<spantap_ring_header>

    init(base: UnsafeMutableRawPointer) {
        func field<T: AtomicValue>(_ path: KeyPath<spantap_ring_header, T>) -> UnsafeAtomic<T> {
            let offset = MemoryLayout<spantap_ring_header>.offset(of: path)!
            return UnsafeAtomic(at: (base + offset).assumingMemoryBound(to: T.AtomicRepresentation.self))
        }
        producerIndex = field(\.producer_index)
        mirroredPackets = field(\.mirrored_packets)
        mirroredBytes = field(\.mirrored_bytes)
        dropsQueueFull = field(\.drops_queue_full)
        dropsNoFrame = field(\.drops_no_frame)
        mirrorOnceSuppressed = field(\.mirror_once_suppressed)
        dropsRateLimited = field(\.drops_rate_limited)
        filterRejected = field(\.filter_rejected)
        rulesDisabled = field(\.rules_disabled)
        consumerIndex = field(\.consumer_index)
        needWakeup = field(\.need_wakeup)
        dropsNoBinding = field(\.drops_no_binding)
        slots = base + Int(SPANTAP_RING_HEADER_SIZE)
        header = base.assumingMemoryBound(to: spantap_ring_header.self)
    }
}
