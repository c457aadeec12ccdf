import SpanTapRing

/// What an untrusted producer may deliver: the routes of its rules, each an output id with the
/// interface, direction and VLAN unit whose frames may go there. Records outside the grant are
/// dropped and counted, never written anywhere: a forged `output_id` must not put frames on an
/// output, least of all on a port's wire.
public struct RecordGrant: Sendable, Equatable {
    public struct Route: Sendable, Equatable {
        public var outputID: UInt32
        public var ifindex: UInt32
        public var direction: MirrorDirection
        /// 0: the whole port; else the unit (outer VLAN id) whose frames this route carries.
        public var vlanID: UInt16

        public init(outputID: UInt32, ifindex: UInt32, direction: MirrorDirection, vlanID: UInt16 = 0) {
            self.outputID = outputID
            self.ifindex = ifindex
            self.direction = direction
            self.vlanID = vlanID
        }
    }

    /// Sorted by (ifindex, direction, vlanID), as the ring's rule table: per interface and
    /// direction either one whole-port route or one route per unit.
    private let routes: [Route]

    public init(routes: [Route]) {
        self.routes = routes.sorted { ($0.ifindex, $0.direction, $0.vlanID) < ($1.ifindex, $1.direction, $1.vlanID) }
    }

    /// A record is granted when a route of its interface and direction names its output and, for a
    /// unit route, the frame's own outer VLAN id is that unit's: a producer cannot send one unit's
    /// frames to another unit's output.
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
        var frameVLAN: UInt16?
        while low < routes.count, routes[low].ifindex == record.ifindex, routes[low].direction == record.direction {
            let route = routes[low]
            low += 1
            guard route.outputID == record.outputID else { continue }
            if route.vlanID == 0 { return true }
            if frameVLAN == nil { frameVLAN = record.outerVLAN }
            if frameVLAN == route.vlanID { return true }
        }
        return false
    }
}
