/// One mirrored frame on a capture socket (SOCK_SEQPACKET, so one message is one frame): this
/// 24-byte little-endian header, then the captured bytes. spantapd's sink writes it; `spantap
/// capture` reads it. The fields are the ring record's (spantap_record in spantap_ring.h).
///
/// A message with `ifindex` 0 (`announcementIfindex`; no interface has it) is not a frame: its
/// bytes announce an interface the capture is sent frames of from then on, one a reload, an
/// apply or a link event added to its instances (the JSON of the control protocol's
/// `CaptureReport.Interface`). spantapd sends it before that interface's first frame.
public struct CaptureMessage: Equatable, Sendable {
    public static let headerSize = 24
    public static let announcementIfindex: UInt32 = 0
    /// Captured bytes are at most a ring slot; a reader's buffer of this size takes any message.
    public static let maximumSize = headerSize + 65536

    public var ifindex: UInt32
    /// 0: received on `ifindex`, 1: transmitted by it (`enum spantap_direction`).
    public var direction: UInt32
    public var originalLength: UInt32
    public var capturedLength: UInt32
    /// CLOCK_MONOTONIC nanoseconds, the record's `timestamp_ns` (0: its producer did not stamp it).
    public var timestampNanoseconds: UInt64

    public init(ifindex: UInt32, direction: UInt32, originalLength: UInt32, capturedLength: UInt32, timestampNanoseconds: UInt64) {
        self.ifindex = ifindex
        self.direction = direction
        self.originalLength = originalLength
        self.capturedLength = capturedLength
        self.timestampNanoseconds = timestampNanoseconds
    }

    /// Writes the header into the first `headerSize` bytes of `buffer`.
    public func encode(into buffer: UnsafeMutableRawPointer) {
        buffer.storeBytes(of: ifindex.littleEndian, toByteOffset: 0, as: UInt32.self)
        buffer.storeBytes(of: direction.littleEndian, toByteOffset: 4, as: UInt32.self)
        buffer.storeBytes(of: originalLength.littleEndian, toByteOffset: 8, as: UInt32.self)
        buffer.storeBytes(of: capturedLength.littleEndian, toByteOffset: 12, as: UInt32.self)
        buffer.storeBytes(of: timestampNanoseconds.littleEndian, toByteOffset: 16, as: UInt64.self)
    }

    /// The header of a received message, or nil if it is too short or its lengths disagree.
    public init?(decoding message: UnsafeRawBufferPointer) {
        guard message.count >= Self.headerSize else { return nil }
        ifindex = UInt32(littleEndian: message.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        direction = UInt32(littleEndian: message.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        originalLength = UInt32(littleEndian: message.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        capturedLength = UInt32(littleEndian: message.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        timestampNanoseconds = UInt64(littleEndian: message.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        guard Int(capturedLength) == message.count - Self.headerSize else { return nil }
    }
}
