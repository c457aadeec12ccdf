/// Where a cross-connect's UMEM frames are, as counted by its forwarding thread.
/// Invariant: `free + inFillRings + inTXRings == total`, `doubleFrees == 0`, `violations == 0`.
public struct FrameAccounting: Sendable, Equatable, CustomStringConvertible {
    public var total: Int
    public var free: Int
    /// Handed to the kernel on fill rings and not yet seen on an RX ring.
    public var inFillRings: Int
    /// Put on a TX ring and not yet seen on a completion ring.
    public var inTXRings: Int
    /// Frames returned twice (or unknown addresses) — refused, never pushed on the free list.
    public var doubleFrees: UInt64
    /// Batches after which the sum did not match `total`.
    public var violations: UInt64

    public var holds: Bool {
        free + inFillRings + inTXRings == total && doubleFrees == 0 && violations == 0
    }

    public var description: String {
        "frames total=\(total) free=\(free) fill=\(inFillRings) tx=\(inTXRings) "
            + "double_frees=\(doubleFrees) violations=\(violations)"
    }
}
