import SpanTapRing

/// The GRE encapsulation a remote output puts in front of each mirrored frame, built per frame
/// in userspace because its fields come from the record (direction, VLAN, timestamp, whether the
/// frame was clipped) and no kernel device can set them per frame. The kernel's raw GRE socket
/// adds the outer IP header.
///
/// Layouts (network byte order; GRE per RFC 2784/2890, ERSPAN per draft-foschiano-erspan and
/// the kernel's `include/net/erspan.h`):
///
///     GRE            |C|R|K|S|... flags, version 0 | protocol type |  [key]  [sequence]
///     ERSPAN Type II | Ver=1 | VLAN (12) | CoS (3) | En (2) | T | Session ID (10) |
///                    | Reserved (12) | Index (20) |
///     ERSPAN Type III| Ver=2 | VLAN (12) | CoS (3) | BSO (2) | T | Session ID (10) |
///                    | Timestamp (32) |
///                    | SGT (16) | P | FT (5) | Hardware ID (6) | D | Gra (2) | O |
///
/// Type III's timestamp is the record's CLOCK_MONOTONIC stamp in units of 100 ns (Gra = 01):
/// fine enough to order a line-rate burst, and its 32 bits wrap every 429 s, which collectors
/// expect of a free-running hardware counter (they use it for gaps and latency, not wall time).
public struct TunnelHeader: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// ERSPAN Type II: GRE protocol 0x88BE with sequence numbers.
        case erspanTypeII(sessionID: UInt16, index: UInt32)
        /// ERSPAN Type III: GRE protocol 0x22EB with sequence numbers.
        case erspanTypeIII(sessionID: UInt16, hardwareID: UInt8)
        /// Transparent Ethernet bridging: GRE protocol 0x6558, an optional key and sequence numbers.
        case gre(key: UInt32?, sequenceNumbers: Bool)
    }

    public let kind: Kind
    /// GRE flags, protocol and the option words, fixed for the session.
    private let greFlags: UInt16
    private let greProtocol: UInt16
    /// Bytes written in front of every frame.
    public let length: Int

    /// What a caller reserves per frame: the longest header (20 bytes: GRE with a sequence number
    /// and ERSPAN Type III) rounded up to 8, so headers side by side stay aligned.
    public static let maximumLength = 24

    public init(_ kind: Kind) {
        self.kind = kind
        switch kind {
        case .erspanTypeII:
            (greFlags, greProtocol, length) = (0x1000, 0x88BE, 4 + 4 + 8)
        case .erspanTypeIII:
            (greFlags, greProtocol, length) = (0x1000, 0x22EB, 4 + 4 + 12)
        case .gre(let key, let sequenceNumbers):
            greFlags = (key == nil ? 0 : 0x2000) | (sequenceNumbers ? 0x1000 : 0)
            greProtocol = 0x6558
            length = 4 + (key == nil ? 0 : 4) + (sequenceNumbers ? 4 : 0)
        }
    }

    /// Whether the header carries a GRE sequence number (every ERSPAN session does).
    public var hasSequenceNumbers: Bool { greFlags & 0x1000 != 0 }

    /// Whether a frame cut short can say so (ERSPAN's T bit); plain GRE cannot.
    public var canTruncate: Bool {
        if case .gre = kind { false } else { true }
    }

    /// Writes the header for `record` into `buffer` (`length` bytes). `truncated`: the frame that
    /// follows is shorter than the one the forwarder saw (clipped by `maximum-packet-length` or to
    /// fit the path MTU), which ERSPAN says with its T bit. `timestamp`: the record's stamp, or
    /// the sink's clock for a record its producer did not stamp.
    @inline(__always)
    func write(into buffer: UnsafeMutableRawPointer, record: RingRecord, sequence: UInt32, truncated: Bool, timestamp: UInt64) {
        var offset = 0
        func put16(_ value: UInt16) { buffer.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt16.self); offset += 2 }
        func put32(_ value: UInt32) { buffer.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self); offset += 4 }
        put16(greFlags)
        put16(greProtocol)
        switch kind {
        case .gre(let key, let sequenceNumbers):
            if let key { put32(key) }
            if sequenceNumbers { put32(sequence) }
        case .erspanTypeII(let sessionID, let index):
            put32(sequence)
            let tag = Self.vlanTag(record.frame)
            // En 11: the VLAN tag is still in the frame (SpanTap never strips it); 00: untagged.
            put32(Self.erspanWord0(version: 1, tag: tag, middle: tag == nil ? 0 : 0b11, truncated: truncated, sessionID: sessionID))
            put32(index & 0xF_FFFF)
        case .erspanTypeIII(let sessionID, let hardwareID):
            put32(sequence)
            // BSO 00: the frame is good (SpanTap mirrors only frames the forwarder accepted).
            put32(Self.erspanWord0(version: 2, tag: Self.vlanTag(record.frame), middle: 0, truncated: truncated, sessionID: sessionID))
            put32(UInt32(truncatingIfNeeded: timestamp / 100))
            let egress: UInt32 = record.direction == .transmitted ? 1 : 0
            // SGT 0, P 0 and FT 0 (an Ethernet frame), Gra 01 (100 ns), O 0 (no platform sub-header).
            put32(UInt32(hardwareID & 0x3F) << 4 | egress << 3 | 0b01 << 1)
        }
    }

    private static func erspanWord0(version: UInt32, tag: UInt16?, middle: UInt32, truncated: Bool, sessionID: UInt16) -> UInt32 {
        let tci = UInt32(tag ?? 0)
        return version << 28 | (tci & 0x0FFF) << 16 | (tci >> 13) << 13 | middle << 11
            | (truncated ? 1 : 0) << 10 | UInt32(sessionID & 0x3FF)
    }

    /// The outer 802.1Q / 802.1ad tag control information (PCP, DEI, VLAN id), nil if untagged.
    @inline(__always)
    private static func vlanTag(_ frame: UnsafeRawBufferPointer) -> UInt16? {
        guard frame.count >= 16 else { return nil }
        let type = UInt16(frame[12]) << 8 | UInt16(frame[13])
        guard type == 0x8100 || type == 0x88A8 else { return nil }
        return UInt16(frame[14]) << 8 | UInt16(frame[15])
    }
}
