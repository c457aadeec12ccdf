/// How `VXLANOutput.create` sets up a mirror's VXLAN device (iproute2's words).
public struct VXLANConfiguration: Sendable, Equatable {
    /// The collector's VTEP, IPv4 or IPv6 text; every frame goes there (learning is off, so the
    /// default forwarding entry is the only one).
    public var remote: String
    public var local: String?
    public var vni: UInt32
    public var dstport: UInt16
    /// The largest mirrored frame less its Ethernet header. No underlay link is bound
    /// (IFLA_VXLAN_LINK), so the kernel does not cap it at underlay MTU - 50: outer packets
    /// larger than the path MTU are fragmented (DF is not set) and reassembled by the collector.
    public var mtu: UInt32
    /// "spantap: <instances>": marks the device as spantapd's, so a leftover of a crashed run
    /// may be replaced and nobody else's device ever is.
    public var alias: String
    public var persistent: Bool

    public init(remote: String, local: String? = nil, vni: UInt32, dstport: UInt16, mtu: UInt32, alias: String,
                persistent: Bool = false) {
        self.remote = remote
        self.local = local
        self.vni = vni
        self.dstport = dstport
        self.mtu = mtu
        self.alias = alias
        self.persistent = persistent
    }
}
