/// The value of an AF_XDP socket's XDP_STATISTICS option (`struct xdp_statistics`), with the
/// kernel's names: what the kernel dropped or found wrong before a frame reached (or after it
/// left) the forwarder's rings. The fast path reads it, status and metrics report it as it is.
public struct XDPStatistics: Codable, Sendable, Equatable {
    /// Dropped for other reasons (e.g. no space in the UMEM).
    public var rxDropped: UInt64 = 0
    public var rxInvalidDescs: UInt64 = 0
    public var txInvalidDescs: UInt64 = 0
    /// Dropped because the RX ring was full (the forwarding thread was behind).
    public var rxRingFull: UInt64 = 0
    /// Times the fill ring was empty when the kernel needed a frame.
    public var rxFillRingEmptyDescs: UInt64 = 0
    /// TX kicks that found nothing to send (normal).
    public var txRingEmptyDescs: UInt64 = 0

    public init() {}

    /// Every field, in the kernel struct's order: the one list sums and conversions follow.
    public static let fields: [WritableKeyPath<XDPStatistics, UInt64> & Sendable] = [
        \.rxDropped, \.rxInvalidDescs, \.txInvalidDescs, \.rxRingFull, \.rxFillRingEmptyDescs, \.txRingEmptyDescs,
    ]

    public static func += (total: inout XDPStatistics, more: XDPStatistics) {
        for field in fields { total[keyPath: field] &+= more[keyPath: field] }
    }
}
