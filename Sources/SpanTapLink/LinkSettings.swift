/// Changes to apply to an existing link. Nil / false means "leave as is".
public struct LinkSettings: Sendable, Equatable {
    public var mtu: UInt32?
    public var address: EthernetAddress?
    public var alias: String?
    public var txQueueLength: UInt32?
    /// true brings the link up (after every other change), false brings it down (before them).
    public var up: Bool?
    /// IFF_NOARP: the kernel neither sends nor answers ARP on the link.
    public var noARP: Bool?
    /// Stop the kernel from running IPv6 on the link at all (no link-local address, no
    /// router/neighbour solicitations, no MLD reports). On a link that is already up this also
    /// removes the IPv6 addresses it has (disable_ipv6 does), so it is safe to apply late.
    public var ipv6AddressGenerationOff: Bool

    public init(
        mtu: UInt32? = nil, address: EthernetAddress? = nil, alias: String? = nil,
        txQueueLength: UInt32? = nil, up: Bool? = nil, noARP: Bool? = nil,
        ipv6AddressGenerationOff: Bool = false
    ) {
        self.mtu = mtu
        self.address = address
        self.alias = alias
        self.txQueueLength = txQueueLength
        self.up = up
        self.noARP = noARP
        self.ipv6AddressGenerationOff = ipv6AddressGenerationOff
    }
}
