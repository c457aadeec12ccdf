/// How a mirror output TAP is set up by `TapOutput.create`.
public struct TapConfiguration: Sendable, Equatable {
    /// Large enough for the biggest mirrored frame (payload MTU of the mirrored ports, plus
    /// any 802.1Q/802.1ad tags they carry); a frame larger than this cannot be written.
    public var mtu: UInt32
    /// Locally administered by default so it never equals a real NIC's address.
    public var address: EthernetAddress
    /// Shown by `ip link` so an operator sees who owns the device, e.g. "spantap: span1".
    public var alias: String?
    public var txQueueLength: UInt32
    /// Keep the device when SpanTap closes it or exits (tcpdump sessions survive a restart).
    public var persistent: Bool
    /// More than one: an IFF_MULTI_QUEUE TAP with one fd per queue.
    public var queues: Int

    public init(
        mtu: UInt32, address: EthernetAddress = .randomLocallyAdministered(), alias: String? = nil,
        txQueueLength: UInt32 = 1000, persistent: Bool = false, queues: Int = 1
    ) {
        self.mtu = mtu
        self.address = address
        self.alias = alias
        self.txQueueLength = txQueueLength
        self.persistent = persistent
        self.queues = queues
    }
}
