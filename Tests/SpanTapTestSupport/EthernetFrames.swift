/// Ethernet frames for tests, built byte by byte so fidelity checks compare against known bytes.
/// The destination MAC is not the receiving interface's, so the host stack ignores the frames.
public enum EthernetFrames {
    static let destination: [UInt8] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x02]
    static let source: [UInt8] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01]

    /// `total` bytes: Ethernet header, an EtherType, and a payload patterned by `seed`.
    public static func frame(etherType: UInt16, total: Int, seed: UInt8 = 0) -> [UInt8] {
        var bytes = destination + source + [UInt8(etherType >> 8), UInt8(etherType & 0xff)]
        bytes += (0..<max(0, total - bytes.count)).map { UInt8(truncatingIfNeeded: Int(seed) &* 31 &+ $0) }
        return bytes
    }

    public static func ipv4(total: Int, seed: UInt8 = 0) -> [UInt8] { frame(etherType: 0x0800, total: total, seed: seed) }
    public static func ipv6(total: Int, seed: UInt8 = 0) -> [UInt8] { frame(etherType: 0x86dd, total: total, seed: seed) }

    /// An 802.1Q (or with `tpid` 0x88a8, 802.1ad) tagged IPv4 frame: the tag must survive mirroring.
    public static func vlanTagged(vid: UInt16, priority: UInt8 = 3, tpid: UInt16 = 0x8100, total: Int, seed: UInt8 = 0) -> [UInt8] {
        var bytes = ipv4(total: total - 4, seed: seed)
        let tci = UInt16(priority) << 13 | vid
        bytes.insert(contentsOf: [UInt8(tpid >> 8), UInt8(tpid & 0xff), UInt8(tci >> 8), UInt8(tci & 0xff)], at: 12)
        return bytes
    }
}
