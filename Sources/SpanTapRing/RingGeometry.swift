import CSpanTapRing

/// Shape of a handoff ring, fixed at creation: how many slots, how big each is, and whether frames
/// that don't fit are truncated (`snapLength > 0`) or dropped.
public struct RingGeometry: Sendable, Equatable, CustomStringConvertible {
    public let slotCount: Int
    public let slotSize: Int
    /// 0: a frame longer than `slotCapacity` is dropped and counted as `mirror_drops_no_frame`.
    /// N: frames longer than N bytes are captured to N bytes (config `maximum-packet-length`).
    public let snapLength: Int

    /// Bytes of frame a slot holds (the slot minus its record header).
    public var slotCapacity: Int { slotSize - Int(SPANTAP_RECORD_SIZE) }
    /// Longest frame a producer puts into the ring: what an output's MTU must accommodate.
    public var captureLimit: Int { snapLength > 0 ? snapLength : slotCapacity }
    /// Total bytes of the shared mapping: header plus slots. This is all the memory a ring uses.
    public var mappingSize: Int { Int(SPANTAP_RING_HEADER_SIZE) + slotCount * slotSize }

    public static let maximumSlotCount = 1 << 20
    public static let maximumSlotSize = 1 << 17

    public init(slotCount: Int, slotSize: Int, snapLength: Int = 0) throws(RingError) {
        let align = Int(SPANTAP_RING_SLOT_ALIGN)
        guard slotCount >= 2, slotCount <= Self.maximumSlotCount, slotCount & (slotCount - 1) == 0 else {
            throw .invalidGeometry("slot count \(slotCount) must be a power of two in 2...\(Self.maximumSlotCount)")
        }
        guard slotSize >= align, slotSize <= Self.maximumSlotSize, slotSize % align == 0 else {
            throw .invalidGeometry("slot size \(slotSize) must be a multiple of \(align) in \(align)...\(Self.maximumSlotSize)")
        }
        self.slotCount = slotCount
        self.slotSize = slotSize
        self.snapLength = snapLength
        guard snapLength >= 0, snapLength <= slotCapacity else {
            throw .invalidGeometry("snap length \(snapLength) exceeds the slot capacity of \(slotCapacity) bytes")
        }
    }

    /// The smallest geometry whose slots hold frames of `maximumFrameLength` bytes untruncated.
    public init(slotCount: Int, maximumFrameLength: Int, snapLength: Int = 0) throws(RingError) {
        let align = Int(SPANTAP_RING_SLOT_ALIGN)
        let needed = Int(SPANTAP_RECORD_SIZE) + max(maximumFrameLength, snapLength, 1)
        try self.init(slotCount: slotCount, slotSize: (needed + align - 1) / align * align, snapLength: snapLength)
    }

    public var description: String {
        "\(slotCount) slots x \(slotSize) B" + (snapLength > 0 ? ", snap \(snapLength) B" : "")
    }
}
