/// IPv4 and IPv6 frames with a TCP, UDP or ICMP header, for filter tests: what a tcpdump
/// expression or a Junos firewall term looks at (addresses, protocol, ports, VLAN tag).
public enum IPFrames {
    public enum Transport: Equatable, Sendable {
        case tcp(source: UInt16, destination: UInt16)
        case udp(source: UInt16, destination: UInt16)
        case icmp
        /// Any other IP protocol number, no header of its own.
        case other(UInt8)
    }

    /// An Ethernet frame carrying IPv4 (4-byte addresses) or IPv6 (16-byte addresses), optionally
    /// 802.1Q-tagged, with 16 bytes of payload.
    public static func frame(source: [UInt8], destination: [UInt8], _ transport: Transport, vlan: UInt16? = nil) -> [UInt8] {
        precondition(source.count == destination.count && (source.count == 4 || source.count == 16))
        let v6 = source.count == 16
        var l4: [UInt8]
        let number: UInt8
        switch transport {
        case .tcp(let s, let d):
            number = 6
            l4 = be16(s) + be16(d) + [0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02] + be16(65535) + [0, 0, 0, 0]
        case .udp(let s, let d):
            number = 17
            l4 = be16(s) + be16(d) + be16(8 + 16) + [0, 0]
        case .icmp:
            number = v6 ? 58 : 1
            l4 = [v6 ? 128 : 8, 0, 0, 0, 0, 1, 0, 1]
        case .other(let protocolNumber):
            number = protocolNumber
            l4 = []
        }
        l4 += (0..<16).map { UInt8($0) }
        let ip: [UInt8] = v6
            ? [0x60, 0, 0, 0] + be16(UInt16(l4.count)) + [number, 64] + source + destination
            : [0x45, 0] + be16(UInt16(20 + l4.count)) + [0, 1, 0x40, 0, 64, number, 0, 0] + source + destination
        let tag: [UInt8] = vlan.map { [0x81, 0x00] + be16($0) } ?? []
        return [0x02, 0, 0x5e, 0x10, 0, 2, 0x02, 0, 0x5e, 0x10, 0, 1] + tag + (v6 ? [0x86, 0xdd] : [0x08, 0x00]) + ip + l4
    }

    private static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xff)] }
}
