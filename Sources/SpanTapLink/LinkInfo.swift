import Glibc

/// A snapshot of one network interface as the kernel reported it.
public struct LinkInfo: Sendable, Equatable, CustomStringConvertible {
    public var ifindex: Int32
    public var name: String
    /// IFF_* bits from the ifinfomsg header (IFF_UP, IFF_RUNNING, IFF_NOARP, ...).
    public var flags: UInt32
    public var mtu: UInt32
    /// Nil for links without a 6-byte hardware address (TUN in L3 mode, tunnels, ...).
    public var address: EthernetAddress?
    public var alias: String?
    public var txQueueLength: UInt32
    /// IFLA_INFO_KIND: "tun" (TUN and TAP alike), "veth", "dummy", ...; nil for physical NICs.
    public var kind: String?

    public init(
        ifindex: Int32, name: String, flags: UInt32, mtu: UInt32, address: EthernetAddress?,
        alias: String?, txQueueLength: UInt32, kind: String?
    ) {
        self.ifindex = ifindex
        self.name = name
        self.flags = flags
        self.mtu = mtu
        self.address = address
        self.alias = alias
        self.txQueueLength = txQueueLength
        self.kind = kind
    }

    /// Administratively up (IFF_UP).
    public var isUp: Bool { flags & UInt32(IFF_UP) != 0 }
    /// Operationally up (IFF_RUNNING): for a TAP, an fd is attached; for a veth, the peer is up.
    public var isRunning: Bool { flags & UInt32(IFF_RUNNING) != 0 }
    public var isNoARP: Bool { flags & UInt32(IFF_NOARP) != 0 }

    public var description: String {
        "\(ifindex): \(name) <\(isUp ? "UP" : "DOWN")\(isRunning ? ",RUNNING" : "")> mtu \(mtu)"
            + (kind.map { " kind \($0)" } ?? "")
    }
}
