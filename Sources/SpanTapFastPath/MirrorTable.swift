import Atomics
import Synchronization

/// What one ingress interface mirrors, as the fast path reads it.
public struct MirrorRule: Equatable, Sendable {
    /// Sink output the clones go to (the ring record's `output_id`).
    public var outputID: UInt32
    /// 0 or 1: every packet; N: packets 0, N, 2N, ... of each binding's count.
    public var rate: UInt32
    /// Captured bytes per clone; 0: whole frames.
    public var snapLength: UInt32

    public static let maximumOutputID: UInt32 = 0xFFFF
    public static let maximumSnapLength: UInt32 = 0x7FFF

    public init(outputID: UInt32, rate: UInt32, snapLength: UInt32 = 0) {
        precondition(outputID <= Self.maximumOutputID && snapLength <= Self.maximumSnapLength)
        self.outputID = outputID
        self.rate = rate
        self.snapLength = snapLength
    }

    /// One word, so a binding reads a whole rule with one atomic load and the daemon replaces it
    /// with one store: bit 63 set = mirrored, bits 48-62 snap length, 32-47 output id, 0-31 rate.
    var packed: UInt64 {
        1 << 63 | UInt64(snapLength) << 48 | UInt64(outputID) << 32 | UInt64(rate)
    }

    init?(packed word: UInt64) {
        guard word >> 63 == 1 else { return nil }
        self.init(outputID: UInt32(truncatingIfNeeded: word >> 32) & 0xFFFF, rate: UInt32(truncatingIfNeeded: word),
                  snapLength: UInt32(truncatingIfNeeded: word >> 48) & 0x7FFF)
    }
}

/// The mirror table: for each ingress ifindex, an atomic word holding its `MirrorRule` (or none).
///
/// Reconfiguration replaces words; bindings load theirs once per RX batch, without locks or
/// reference counting, so a changed rate or output takes effect within one batch and no binding
/// restarts. A cell, once made, lives as long as the table: bindings keep pointers to it.
public final class MirrorTable: Sendable {
    private let cells = Mutex<[UInt32: UnsafeAtomic<UInt64>]>([:])

    public init() {}

    deinit {
        cells.withLock { $0.values.forEach { $0.destroy() } }
    }

    /// The cell a binding on `ifindex` reads (made, unmirrored, if new).
    public func cell(for ifindex: UInt32) -> UnsafeAtomic<UInt64> {
        cells.withLock { cells in
            if let cell = cells[ifindex] { return cell }
            let cell = UnsafeAtomic<UInt64>.create(0)
            cells[ifindex] = cell
            return cell
        }
    }

    /// Makes `rules` the whole table: interfaces not in it stop being mirrored.
    public func replace(with rules: [UInt32: MirrorRule]) {
        for ifindex in Set(rules.keys).union(cells.withLock { Array($0.keys) }) {
            cell(for: ifindex).store(rules[ifindex]?.packed ?? 0, ordering: .releasing)
        }
    }

    public func rule(for ifindex: UInt32) -> MirrorRule? {
        cells.withLock { $0[ifindex] }.flatMap { MirrorRule(packed: $0.load(ordering: .acquiring)) }
    }
}
