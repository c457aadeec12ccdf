import Atomics
import SpanTapSystem

/// Counters of one binding (one AF_XDP socket), written only by its cross-connect's forwarding
/// thread and readable from any thread at any time (acquiring loads; no lock, the loop never
/// stops for a reader).
///
/// Single writer: the loop keeps running totals in its own state and publishes them with a
/// releasing *store* once per batch (`LoopBinding.publish`), so the packet path does no atomic
/// read-modify-write.
/// `UnsafeAtomic` (not `ManagedAtomic`) so the loop can hold the handles in plain structs and
/// touch them without retain/release.
///
/// The counters describe the direction this binding feeds: frames *received* here and what the
/// forwarding decision did with them (put on the peer's TX ring, or dropped), so
/// `rxPackets == txPackets + txDrops` holds per binding, i.e. per direction and queue.
// @unchecked: only atomics (UnsafeAtomic is not Sendable itself), one writer, destroyed in deinit.
public final class BindingCounters: @unchecked Sendable {
    /// Frames received on this socket's RX ring.
    let rxPackets = UnsafeAtomic<UInt64>.create(0)
    let rxBytes = UnsafeAtomic<UInt64>.create(0)
    /// Received frames placed on the peer interface's TX ring (forwarded).
    let txPackets = UnsafeAtomic<UInt64>.create(0)
    let txBytes = UnsafeAtomic<UInt64>.create(0)
    /// Received frames dropped because the peer's TX ring was full (never stalls RX).
    let txDrops = UnsafeAtomic<UInt64>.create(0)
    /// Frames this socket transmitted and the kernel completed (egress side, for information).
    let txCompletions = UnsafeAtomic<UInt64>.create(0)

    init() {}

    deinit {
        rxPackets.destroy(); rxBytes.destroy()
        txPackets.destroy(); txBytes.destroy()
        txDrops.destroy(); txCompletions.destroy()
    }

    /// A consistent-enough view for status output: each value is exact, but they are read one
    /// after the other while the loop runs, so only a snapshot taken after stop (or when idle)
    /// satisfies `rx == tx + drops` exactly.
    public func snapshot() -> BindingCountersSnapshot.Values {
        // The loop publishes rx first, then tx/drops (releasing stores); reading tx/drops first
        // (acquiring) means a racing reader sees rx >= tx + drops, never the other way round.
        let tx = txPackets.load(ordering: .acquiring)
        let txb = txBytes.load(ordering: .acquiring)
        let drops = txDrops.load(ordering: .acquiring)
        let done = txCompletions.load(ordering: .acquiring)
        let rx = rxPackets.load(ordering: .acquiring)
        let rxb = rxBytes.load(ordering: .acquiring)
        return .init(rxPackets: rx, rxBytes: rxb, txPackets: tx, txBytes: txb, txDrops: drops, txCompletions: done)
    }
}

/// Counters of one binding, labelled, as status output shows them.
public struct BindingCountersSnapshot: Sendable, Equatable, CustomStringConvertible {
    public struct Values: Sendable, Equatable {
        public var rxPackets: UInt64
        public var rxBytes: UInt64
        public var txPackets: UInt64
        public var txBytes: UInt64
        public var txDrops: UInt64
        public var txCompletions: UInt64
        /// rx = forwarded + forwarding drops.
        public var addsUp: Bool { rxPackets == txPackets + txDrops }
    }

    public var crossConnect: String
    public var interface: String
    public var ifindex: UInt32
    public var queue: UInt32
    /// Interface whose TX ring this binding's frames go to.
    public var peerInterface: String
    public var values: Values
    /// The kernel's own counts for this socket (frames it dropped before our RX ring, ...).
    public var kernel = XDPStatistics()

    public var description: String {
        "\(crossConnect) \(interface)/q\(queue)→\(peerInterface): rx_packets=\(values.rxPackets) "
            + "rx_bytes=\(values.rxBytes) tx_packets=\(values.txPackets) tx_bytes=\(values.txBytes) "
            + "tx_drops=\(values.txDrops) tx_completions=\(values.txCompletions)"
    }
}
