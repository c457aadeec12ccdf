import Atomics
import CLibXDP

/// What the forwarding loop keeps per binding: ring pointers, the peer to transmit on, frame
/// counts for the accounting invariant and running counter totals. Plain values only
/// (pointers, integers, `UnsafeAtomic` handles), so the packet path does no ARC.
struct LoopBinding {
    let rx: UnsafeMutablePointer<xsk_ring_cons>
    let tx: UnsafeMutablePointer<xsk_ring_prod>
    let fill: UnsafeMutablePointer<xsk_ring_prod>
    let comp: UnsafeMutablePointer<xsk_ring_cons>
    let fd: Int32
    let ifindex: UInt32
    /// Index (in the loop's binding table) of the binding whose TX ring our frames go to.
    let peer: Int

    /// Frames we put on this binding's fill ring that have not come back on its RX ring.
    var inFill = 0
    /// Frames put on this binding's TX ring that have not come back on its completion ring.
    var inTX = 0

    // Running totals (this thread only), published to `published` once per batch.
    var rxPackets: UInt64 = 0
    var rxBytes: UInt64 = 0
    var txPackets: UInt64 = 0
    var txBytes: UInt64 = 0
    var txDrops: UInt64 = 0
    var txCompletions: UInt64 = 0
    var dirty = false

    let publishedRXPackets: UnsafeAtomic<UInt64>
    let publishedRXBytes: UnsafeAtomic<UInt64>
    let publishedTXPackets: UnsafeAtomic<UInt64>
    let publishedTXBytes: UnsafeAtomic<UInt64>
    let publishedTXDrops: UnsafeAtomic<UInt64>
    let publishedTXCompletions: UnsafeAtomic<UInt64>

    init(_ binding: XSKBinding, peer: Int) {
        self.init(rx: binding.rx, tx: binding.tx, fill: binding.fill, comp: binding.comp, fd: binding.fd,
                  ifindex: binding.ifindex, peer: peer, counters: binding.counters)
    }

    init(rx: UnsafeMutablePointer<xsk_ring_cons>, tx: UnsafeMutablePointer<xsk_ring_prod>,
         fill: UnsafeMutablePointer<xsk_ring_prod>, comp: UnsafeMutablePointer<xsk_ring_cons>,
         fd: Int32, ifindex: UInt32, peer: Int, counters c: BindingCounters) {
        self.rx = rx; self.tx = tx; self.fill = fill; self.comp = comp
        self.fd = fd
        self.ifindex = ifindex
        self.peer = peer
        publishedRXPackets = c.rxPackets; publishedRXBytes = c.rxBytes
        publishedTXPackets = c.txPackets; publishedTXBytes = c.txBytes
        publishedTXDrops = c.txDrops; publishedTXCompletions = c.txCompletions
    }

    /// Single writer: plain releasing stores, rx first (see `BindingCounters.snapshot`).
    mutating func publish() {
        guard dirty else { return }
        dirty = false
        publishedRXPackets.store(rxPackets, ordering: .releasing)
        publishedRXBytes.store(rxBytes, ordering: .releasing)
        publishedTXPackets.store(txPackets, ordering: .releasing)
        publishedTXBytes.store(txBytes, ordering: .releasing)
        publishedTXDrops.store(txDrops, ordering: .releasing)
        publishedTXCompletions.store(txCompletions, ordering: .releasing)
    }
}
