/// Builds a pcapng file (draft-ietf-opsawg-pcapng) block by block, little-endian: one Section
/// Header Block, one Interface Description Block per source interface, an Enhanced Packet Block per
/// frame with its direction in `epb_flags`, and Interface Statistics Blocks at the end. Each call
/// returns the block's bytes; the caller writes them wherever the file goes (a file, stdout).
///
/// A value type with no I/O so the tests can compare bytes and hand a fixture to tshark.
public struct PcapngWriter {
    /// LINKTYPE_ETHERNET: SpanTap mirrors whole L2 frames.
    public static let linkTypeEthernet: UInt16 = 1

    /// Which way a frame crossed its interface, as `epb_flags` bits 0-1 say it.
    public enum Direction: UInt32, Sendable {
        case unknown = 0, inbound = 1, outbound = 2
    }

    /// Interfaces described so far; an EPB names one by its position here.
    public private(set) var interfaceCount = 0

    public init() {}

    /// The SHB: byte-order magic, version 1.0, section length unknown (-1), `shb_userappl`.
    public func sectionHeader(userApplication: String) -> [UInt8] {
        var body = Bytes()
        body.u32(0x1A2B_3C4D)
        body.u16(1)
        body.u16(0)
        body.u64(UInt64.max)
        body.options([.string(4, userApplication)])
        return Self.block(type: 0x0A0D_0D0A, body: body.bytes)
    }

    /// An IDB: `if_name`, `if_description`, `if_tsresol` 9 (nanoseconds). Returns the block and
    /// the interface id EPBs and ISBs use for it.
    public mutating func interfaceDescription(name: String, description: String, snapLength: UInt32) -> (id: UInt32, block: [UInt8]) {
        var body = Bytes()
        body.u16(Self.linkTypeEthernet)
        body.u16(0)
        body.u32(snapLength)
        body.options([.string(2, name), .string(3, description), .bytes(9, [9])])
        defer { interfaceCount += 1 }
        return (UInt32(interfaceCount), Self.block(type: 1, body: body.bytes))
    }

    /// An EPB: the frame's captured bytes (padded to 32 bits), its original length and `epb_flags`.
    /// `timestamp`: nanoseconds since the Unix epoch (the IDB said `if_tsresol` 9).
    public func enhancedPacket(interface: UInt32, timestamp: UInt64, direction: Direction,
                               originalLength: UInt32, frame: UnsafeRawBufferPointer) -> [UInt8] {
        var body = Bytes()
        body.u32(interface)
        body.u32(UInt32(truncatingIfNeeded: timestamp >> 32))
        body.u32(UInt32(truncatingIfNeeded: timestamp))
        body.u32(UInt32(frame.count))
        body.u32(max(originalLength, UInt32(frame.count)))
        body.append(frame)
        body.pad()
        body.options([.u32(2, direction.rawValue)])
        return Self.block(type: 6, body: body.bytes)
    }

    /// What one interface's ISB reports (pcapng's option names).
    public struct Statistics: Equatable, Sendable {
        /// Nanoseconds since the Unix epoch, like EPB timestamps.
        public var startTime: UInt64
        public var endTime: UInt64
        /// `isb_ifrecv`: frames selected for this capture on the interface.
        public var received: UInt64
        /// `isb_ifdrop`: of those, frames lost before they reached the capture client; nil when
        /// not known for this file (the option is left out rather than claim none).
        public var dropped: UInt64?
        /// `isb_usrdeliv`: frames written into this file.
        public var delivered: UInt64

        public init(startTime: UInt64, endTime: UInt64, received: UInt64, dropped: UInt64?, delivered: UInt64) {
            self.startTime = startTime
            self.endTime = endTime
            self.received = received
            self.dropped = dropped
            self.delivered = delivered
        }
    }

    /// An ISB for `interface`, stamped at `statistics.endTime`.
    public func interfaceStatistics(interface: UInt32, _ statistics: Statistics) -> [UInt8] {
        var body = Bytes()
        body.u32(interface)
        body.u32(UInt32(truncatingIfNeeded: statistics.endTime >> 32))
        body.u32(UInt32(truncatingIfNeeded: statistics.endTime))
        body.options([.timestamp(2, statistics.startTime), .timestamp(3, statistics.endTime), .u64(4, statistics.received)]
                     + (statistics.dropped.map { [.u64(5, $0)] } ?? []) + [.u64(8, statistics.delivered)])
        return Self.block(type: 5, body: body.bytes)
    }

    /// Type, total length, body, total length again (readers walk backwards with it).
    private static func block(type: UInt32, body: [UInt8]) -> [UInt8] {
        precondition(body.count % 4 == 0, "pcapng block bodies are padded to 32 bits")
        var block = Bytes()
        block.u32(type)
        block.u32(UInt32(body.count + 12))
        block.bytes += body
        block.u32(UInt32(body.count + 12))
        return block.bytes
    }
}

/// Little-endian byte building, with pcapng's option encoding (code, length, value padded to 32
/// bits, closed by opt_endofopt).
private struct Bytes {
    var bytes: [UInt8] = []

    enum Option {
        case string(UInt16, String)
        case bytes(UInt16, [UInt8])
        case u32(UInt16, UInt32)
        case u64(UInt16, UInt64)
        /// A 64-bit timestamp as ISBs carry it: high 32 bits first, each little-endian.
        case timestamp(UInt16, UInt64)
    }

    mutating func u16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func append(_ raw: UnsafeRawBufferPointer) { bytes += raw }

    mutating func pad() {
        bytes += [UInt8](repeating: 0, count: (4 - bytes.count % 4) % 4)
    }

    mutating func options(_ options: [Option]) {
        for option in options {
            var value = Bytes()
            let code: UInt16
            switch option {
            case .string(let c, let string): code = c; value.bytes = Array(string.utf8)
            case .bytes(let c, let raw): code = c; value.bytes = raw
            case .u32(let c, let number): code = c; value.u32(number)
            case .u64(let c, let number): code = c; value.u64(number)
            case .timestamp(let c, let time):
                code = c
                value.u32(UInt32(truncatingIfNeeded: time >> 32))
                value.u32(UInt32(truncatingIfNeeded: time))
            }
            u16(code)
            u16(UInt16(value.bytes.count))
            bytes += value.bytes
            pad()
        }
        u32(0) // opt_endofopt
    }
}
