import Atomics
import SpanTapRing

/// What an untrusted producer may deliver: the routes of its rules, each an output id with the
/// interface and direction whose frames may go there. Records outside the grant are dropped and
/// counted, never written anywhere: a forged `output_id` must not put frames on an output, least
/// of all on a port's wire.
public struct RecordGrant: Sendable, Equatable {
    public struct Route: Sendable, Equatable {
        public var outputID: UInt32
        public var ifindex: UInt32
        public var direction: MirrorDirection

        public init(outputID: UInt32, ifindex: UInt32, direction: MirrorDirection) {
            self.outputID = outputID
            self.ifindex = ifindex
            self.direction = direction
        }
    }

    /// Sorted by (ifindex, direction), at most one route per pair, as in the ring's rule table.
    private let routes: [Route]

    public init(routes: [Route]) {
        self.routes = routes.sorted { ($0.ifindex, $0.direction) < ($1.ifindex, $1.direction) }
    }

    @inline(__always)
    func admits(_ record: RingRecord) -> Bool {
        var low = 0, high = routes.count
        while low < high {
            let middle = (low + high) / 2
            if (routes[middle].ifindex, routes[middle].direction) < (record.ifindex, record.direction) {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low < routes.count && routes[low].ifindex == record.ifindex && routes[low].direction == record.direction
            && routes[low].outputID == record.outputID
    }
}

/// Records the sink refused from one ring, kept in the daemon's memory (not the shared header, which
/// the producer could rewrite). The ring's sink worker is the only writer; anyone reads with relaxed loads.
public final class RejectedRecords: Sendable {
    let notGrantedCell = ManagedAtomic<UInt64>(0)
    let badRecordCell = ManagedAtomic<UInt64>(0)

    init() {}

    /// `mirror_drops_not_granted`: records for an output, interface or direction outside the grant.
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
