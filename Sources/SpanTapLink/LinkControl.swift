import CLibNLRoute
import Glibc
import Logging
import Synchronization
import SystemPackage

/// Reads and changes links through rtnetlink (libnl-route), synchronously.
///
/// Owns one libnl route socket. libnl sockets are not thread-safe (one sequence counter, one
/// receive buffer), so every request holds `socket`'s lock from send to ack; concurrent
/// callers simply queue up. Requests are small and the kernel answers them in microseconds.
public final class LinkControl: Sendable {
    let socket: Mutex<RouteSocket>
    private let logger = Logger(label: "spantap.link.control")

    public init() throws {
        socket = Mutex(try RouteSocket())
    }

    /// The link called `name`, or nil if there is none.
    public func link(named name: String) throws -> LinkInfo? {
        try InterfaceName.validate(name, operation: "look up link")
        return try socket.withLock { socket in
            try socket.fetch(index: 0, name: name, operation: "look up link", device: name)
                .map { link in
                    defer { rtnl_link_put(link) }
                    return LinkInfo(link)
                }
        }
    }

    /// The link with interface index `index`, or nil if there is none.
    public func link(index: Int32) throws -> LinkInfo? {
        try socket.withLock { socket in
            try socket.fetch(index: index, name: nil, operation: "look up link", device: "ifindex \(index)")
                .map { link in
                    defer { rtnl_link_put(link) }
                    return LinkInfo(link)
                }
        }
    }

    /// Applies `settings` to the existing link `name`.
    ///
    /// Runs up to four requests, in an order that matters:
    /// 1. bring down (if `up == false`), so the other changes never apply to a live link;
    /// 2. address, MTU, alias, txqueuelen, NOARP in one RTM_NEWLINK;
    /// 3. IPv6 off (see `switchOffIPv6`), on its own: an MTU below 1280 in step 2 makes the
    ///    kernel drop the link's IPv6 state, and the same request's IFLA_AF_SPEC would then fail;
    /// 4. bring up (if `up == true`), last: the kernel starts IPv6 autoconfiguration at the
    ///    NETDEV_UP event and processes IFLA_AF_SPEC *after* the flags within one request, so
    ///    "IPv6 off and up" in a single message would already have sent solicitations.
    /// Not atomic: if a later step fails, the earlier ones stay applied.
    public func configure(_ name: String, _ settings: LinkSettings) throws {
        try InterfaceName.validate(name, operation: "configure")
        try socket.withLock { socket in
            guard let original = try socket.fetch(index: 0, name: name, operation: "configure", device: name) else {
                throw LinkError(
                    operation: "configure", device: name, errno: .operationNotSupportedByDevice,
                    message: "no such device")
            }
            defer { rtnl_link_put(original) }

            if settings.up == false {
                try socket.change(original, operation: "bring down", device: name) { changes in
                    rtnl_link_unset_flags(changes, UInt32(IFF_UP))
                }
            }
            if let (operation, apply) = Self.attributeChanges(settings, device: name) {
                try socket.change(original, operation: operation, device: name, apply)
            }
            if settings.ipv6AddressGenerationOff {
                try switchOffIPv6(socket, original, name)
            }
            if settings.up == true {
                try socket.change(original, operation: "bring up", device: name) { changes in
                    rtnl_link_set_flags(changes, UInt32(IFF_UP))
                }
            }
        }
    }

    /// Deletes the link `name`. Throws ENODEV (`.operationNotSupportedByDevice`) if it is gone.
    public func delete(_ name: String) throws {
        try InterfaceName.validate(name, operation: "delete link")
        try socket.withLock { socket in
            try socket.delete(operation: "delete link", device: name) { link in
                rtnl_link_set_name(link, name)
            }
        }
    }

    /// Deletes the link with interface index `index`: unlike a name, an index cannot have been
    /// taken over by another device after a rename. Throws ENODEV if it is gone.
    public func delete(index: Int32) throws {
        try socket.withLock { socket in
            try socket.delete(operation: "delete link", device: "ifindex \(index)") { link in
                rtnl_link_set_ifindex(link, index)
            }
        }
    }

    /// Step 2 of `configure`: the plain attribute changes, named after what they change so an
    /// error reads "set MTU on span0: ...". Nil if there is nothing to change.
    private static func attributeChanges(
        _ settings: LinkSettings, device: String
    ) -> (String, (OpaquePointer) throws -> Void)? {
        var what: [String] = []
        if settings.address != nil { what.append("address") }
        if settings.mtu != nil { what.append("MTU") }
        if settings.alias != nil { what.append("alias") }
        if settings.txQueueLength != nil { what.append("txqueuelen") }
        if settings.noARP != nil { what.append("NOARP") }
        guard !what.isEmpty else { return nil }
        return ("set " + what.joined(separator: ", "), { changes in
            if let address = settings.address {
                let nlAddress = address.bytes.withUnsafeBytes { bytes in
                    nl_addr_build(AF_LLC, bytes.baseAddress, bytes.count)
                }
                guard let nlAddress else { throw LinkError(operation: "set address", device: device, errno: .noMemory) }
                defer { nl_addr_put(nlAddress) }
                rtnl_link_set_addr(changes, nlAddress)
            }
            if let mtu = settings.mtu { rtnl_link_set_mtu(changes, mtu) }
            if let alias = settings.alias { rtnl_link_set_ifalias(changes, alias) }
            if let length = settings.txQueueLength { rtnl_link_set_txqlen(changes, length) }
            switch settings.noARP {
            case true?: rtnl_link_set_flags(changes, UInt32(IFF_NOARP))
            case false?: rtnl_link_unset_flags(changes, UInt32(IFF_NOARP))
            case nil: break
            }
        })
    }

    /// Step 3 of `configure`. A mirror TAP must be silent: tcpdump on it has to show the mirrored
    /// frames and nothing else, but by default the kernel gives every Ethernet link an IPv6
    /// link-local address and then sends DAD neighbour solicitations, router solicitations and
    /// MLD reports out of it. Address generation mode "none" stops the address (and with it
    /// DAD and RS); disable_ipv6 also stops MLD and any IPv6 the kernel might still originate.
    ///
    /// If the kernel keeps no IPv6 state for the link (no conf/<name> directory: IPv6 disabled
    /// at boot, or an MTU below 1280), IPv6 is already off there and there is nothing to do.
    private func switchOffIPv6(_ socket: borrowing RouteSocket, _ original: OpaquePointer, _ name: String) throws {
        let confDirectory = "/proc/sys/net/ipv6/conf/\(name)"
        guard access(confDirectory, F_OK) == 0 else {
            logger.debug("no IPv6 state for link, nothing to switch off", metadata: ["link": "\(name)"])
            return
        }
        try socket.change(original, operation: "switch off IPv6 address generation", device: name) { changes in
            let status = rtnl_link_inet6_set_addr_gen_mode(changes, UInt8(IN6_ADDR_GEN_MODE_NONE.rawValue))
            if status < 0 {
                throw LinkError(operation: "switch off IPv6 address generation", device: name, netlinkCode: status)
            }
        }
        do {
            let file = try FileDescriptor.open(confDirectory + "/disable_ipv6", .writeOnly, options: .closeOnExec)
            try file.closeAfter { _ = try file.writeAll("1\n".utf8) }
        } catch let errno as Errno {
            throw LinkError(operation: "disable IPv6", device: name, errno: errno)
        }
    }
}
