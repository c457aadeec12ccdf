import Glibc

/// `output { vxlan { remote ADDRESS; vni N; local ADDRESS; dstport P; } }`: the mirror leaves
/// through a kernel VXLAN device spantapd creates (iproute2's words, as `ip link add ... type
/// vxlan` takes them), encapsulated to an analyzer on another machine.
///
/// Addresses are kept in canonical text (`inet_ntop`), so "2001:DB8:0::9" and "2001:db8::9"
/// are the same tunnel when two instances or a reload are compared.
public struct VXLANTunnel: Equatable, Sendable {
    /// Unicast address of the collector's VTEP.
    public var remote: String
    /// VXLAN network identifier, 1...16777215 (24 bits; 0 is refused like iproute2's users expect).
    public var vni: UInt32
    /// Source address of the outer packets; nil lets the kernel's route to `remote` choose.
    public var local: String?
    public var dstport: UInt16

    public static let defaultPort: UInt16 = 4789
    public static let vniRange: ClosedRange<UInt32> = 1...16_777_215

    public init(remote: String, vni: UInt32, local: String? = nil, dstport: UInt16 = VXLANTunnel.defaultPort) {
        self.remote = remote
        self.vni = vni
        self.local = local
        self.dstport = dstport
    }

    /// The device spantapd names after the VNI when the stanza gives no `interface`.
    public var defaultInterfaceName: String { "stv\(vni)" }

    public var isIPv6: Bool { remote.contains(":") }

    /// A unicast IPv4 or IPv6 address in canonical form, or nil if `text` is not one.
    static func canonicalUnicastAddress(_ text: String) -> String? {
        for family in [AF_INET, AF_INET6] {
            var bytes = [UInt8](repeating: 0, count: 16)
            guard inet_pton(family, text, &bytes) == 1 else { continue }
            let isMulticast = family == AF_INET ? bytes[0] >> 4 == 14 : bytes[0] == 0xff
            guard !isMulticast, bytes.contains(where: { $0 != 0 }) else { return nil }
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(family, bytes, &buffer, socklen_t(buffer.count)) != nil else { return nil }
            return String(decoding: buffer.prefix { $0 != 0 }.map(UInt8.init(bitPattern:)), as: UTF8.self)
        }
        return nil
    }
}
