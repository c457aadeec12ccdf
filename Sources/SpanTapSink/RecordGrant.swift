import Atomics
import SpanTapRing

/// What an untrusted producer may deliver: the (output id, ingress ifindex) routes of its grant.
/// A route with ingress 0 admits any ingress for its output (the rule's interface has no ifindex
/// yet). Records outside the grant are dropped and counted, never written anywhere: a forged
/// `output_id` must not put frames on an output, least of all on a port's wire.
public struct RecordGrant: Sendable, Equatable {
    public struct Route: Sendable, Equatable {
        public var outputID: UInt32
        public var ingressIfindex: UInt32

        public init(outputID: UInt32, ingressIfindex: UInt32) {
            self.outputID = outputID
            self.ingressIfindex = ingressIfindex
        }
    }

    /// A handful of routes (one per mirrored ingress): a linear scan beats any hashing here.
    private let routes: [Route]

    public init(routes: [Route]) { self.routes = routes }

    @inline(__always)
    func admits(_ record: RingRecord) -> Bool {
        for route in routes where route.outputID == record.outputID {
            if route.ingressIfindex == 0 || route.ingressIfindex == record.ingressIfindex { return true }
        }
        return false
    }
}

/// Records the sink refused from one ring, kept in the daemon's memory (not the shared header, which
/// the producer could rewrite). The sink queue is the only writer; anyone reads with relaxed loads.
public final class RejectedRecords: Sendable {
    let notGrantedCell = ManagedAtomic<UInt64>(0)
    let badRecordCell = ManagedAtomic<UInt64>(0)

    init() {}

    /// `mirror_drops_not_granted`: records for an output (or from an ingress) outside the grant.
    public var notGranted: UInt64 { notGrantedCell.load(ordering: .relaxed) }
    /// `mirror_drops_bad_record`: records whose lengths did not fit their slot.
    public var badRecord: UInt64 { badRecordCell.load(ordering: .relaxed) }

    func add(notGranted: Int, badRecordTotal: UInt64) {
        if notGranted > 0 {
            notGrantedCell.store(notGrantedCell.load(ordering: .relaxed) &+ UInt64(notGranted), ordering: .relaxed)
        }
        badRecordCell.store(badRecordTotal, ordering: .relaxed)
    }
}
