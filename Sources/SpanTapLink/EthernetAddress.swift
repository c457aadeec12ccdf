/// A 48-bit IEEE 802 MAC address.
public struct EthernetAddress: Hashable, Sendable, CustomStringConvertible {
    public static let length = 6

    /// Always exactly `length` bytes, in transmission order.
    public let bytes: [UInt8]

    /// Nil unless `bytes` has exactly six elements.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.length else { return nil }
        self.bytes = Array(bytes)
    }

    /// Parses the usual colon-separated form, "02:53:50:00:00:01" (either case).
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == Self.length else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard part.count == 2, let byte = UInt8(part, radix: 16) else { return nil }
            bytes.append(byte)
        }
        self.bytes = bytes
    }

    /// A random unicast address with the locally-administered bit set, so it can never collide
    /// with a vendor-assigned (OUI) address on the network being mirrored.
    public static func randomLocallyAdministered() -> EthernetAddress {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        bytes[0] = (bytes[0] & ~0x01) | 0x02  // clear I/G (unicast), set U/L (local)
        return EthernetAddress(bytes: bytes)!
    }

    public var isLocallyAdministered: Bool { bytes[0] & 0x02 != 0 }
    public var isMulticast: Bool { bytes[0] & 0x01 != 0 }

    public var description: String {
        bytes.map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined(separator: ":")
    }
}
