import CLibNLRoute

/// Frames a link accepted from a writer and then failed to send, by the kernel's own counters.
/// A tunnel device accepts every write and fails later, where `write(2)` cannot report it, so
/// these are the only trace of, say, a remote without a route.
public struct TransmitErrors: Sendable, Equatable {
    /// tx_carrier_errors: for a VXLAN device, no route to the remote (ENETUNREACH).
    public var noRoute: UInt64 = 0
    /// collisions: for a VXLAN device, the route to the remote leads back into the device.
    public var routingLoop: UInt64 = 0
    /// tx_errors less the two above.
    public var other: UInt64 = 0

    public init() {}

    public var total: UInt64 { noRoute &+ routingLoop &+ other }

    public static func += (sum: inout TransmitErrors, more: TransmitErrors) {
        sum.noRoute &+= more.noRoute
        sum.routingLoop &+= more.routingLoop
        sum.other &+= more.other
    }
}

extension LinkControl {
    /// The link's transmit errors since it was created, or nil if there is no such link.
    public func transmitErrors(index: Int32) throws -> TransmitErrors? {
        try socket.withLock { socket in
            try socket.fetch(index: index, name: nil, operation: "read link statistics", device: "ifindex \(index)")
                .map { link in
                    defer { rtnl_link_put(link) }
                    var errors = TransmitErrors()
                    errors.noRoute = rtnl_link_get_stat(link, RTNL_LINK_TX_CARRIER_ERR)
                    errors.routingLoop = rtnl_link_get_stat(link, RTNL_LINK_COLLISIONS)
                    let all = rtnl_link_get_stat(link, RTNL_LINK_TX_ERRORS)
                    errors.other = all > errors.noRoute + errors.routingLoop ? all - errors.noRoute - errors.routingLoop : 0
                    return errors
                }
        }
    }
}
