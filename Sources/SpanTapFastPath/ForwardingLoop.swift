import Atomics
import CLibXDP
import Glibc

/// The per-cross-connect forwarding loop: one thread, all of the pair's sockets, one shared
/// UMEM. A frame received on one side is put on the other side's TX ring by address (no copy);
/// completions return frames to the free list, which refills the fill rings.
///
/// Busy while there is traffic; when a pass finds nothing to do it sleeps in poll() on all
/// sockets plus the stop eventfd (need_wakeup mode: the kernel is told to wake us, we never spin).
///
/// Everything here is owned by the loop thread; other threads see only the published counters
/// and the `violations` atomic.
///
/// Generic over the per-binding hook so spantap-bench drives this very loop (`LoopBench`, rings in
/// ordinary memory) with and without mirroring; the shipped loop is `ForwardingLoop<MirrorHook>`,
/// specialized in this module, so the hook calls stay static and inline.
struct ForwardingLoop<Hook: FrameHook> {
    /// Descriptors taken from one RX ring per pass (xdp-tools uses 64 too).
    static var batch: UInt32 { 64 }

    private let bindings: UnsafeMutableBufferPointer<LoopBinding>
    /// Internal so `LoopBench` can carry a hook's state from one measured run to the next.
    let hooks: UnsafeMutableBufferPointer<Hook>
    private var pool: FramePool
    private let area: UnsafeMutableRawPointer
    private let pollFDs: UnsafeMutableBufferPointer<pollfd>
    private let stopRequested: UnsafeAtomic<Bool>
    private let publishedViolations: UnsafeAtomic<UInt64>
    private var violations: UInt64 = 0

    /// - Parameters:
    ///   - peers: for each binding, the index of the binding it transmits on.
    ///   - stopFD: eventfd written by `CrossConnect.stop()` to wake the poll.
    init(bindings xsks: [XSKBinding], peers: [Int], hooks hookList: [Hook], umem: UMEM,
         stopFD: Int32, stopRequested: UnsafeAtomic<Bool>, violations: UnsafeAtomic<UInt64>) {
        self.init(bindings: xsks.enumerated().map { LoopBinding($1, peer: peers[$0]) }, hooks: hookList,
                  area: umem.area, frameCount: Int(umem.frameCount), frameSize: umem.frameSize,
                  stopFD: stopFD, stopRequested: stopRequested, violations: violations)
    }

    /// Over any rings: the AF_XDP sockets' (above) or a benchmark's in ordinary memory.
    init(bindings loopBindings: [LoopBinding], hooks hookList: [Hook], area: UnsafeMutableRawPointer,
         frameCount: Int, frameSize: UInt32,
         stopFD: Int32, stopRequested: UnsafeAtomic<Bool>, violations: UnsafeAtomic<UInt64>) {
        bindings = .allocate(capacity: loopBindings.count)
        _ = bindings.initialize(from: loopBindings)
        hooks = .allocate(capacity: hookList.count)
        _ = hooks.initialize(from: hookList)
        pool = FramePool(frameCount: frameCount, frameSize: frameSize)
        self.area = area
        pollFDs = .allocate(capacity: loopBindings.count + 1)
        for (i, binding) in loopBindings.enumerated() {
            pollFDs[i] = pollfd(fd: binding.fd, events: Int16(POLLIN), revents: 0)
        }
        pollFDs[loopBindings.count] = pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0)
        self.stopRequested = stopRequested
        self.publishedViolations = violations
    }

    /// Runs until stop is requested, then waits briefly for in-flight TX to complete so the
    /// final accounting is exact. Returns the accounting.
    mutating func run() -> FrameAccounting {
        for i in bindings.indices { refill(i) }
        while !stopRequested.load(ordering: .relaxed) {
            if !pass() { sleep() }
        }
        // Drain: give the kernel up to ~100 ms to complete what is on the TX rings.
        var rounds = 0
        while rounds < 50, bindings.contains(where: { $0.inTX > 0 }) {
            for i in bindings.indices { kickTX(i) }
            _ = poll(pollFDs.baseAddress, nfds_t(bindings.count), 2)
            for i in bindings.indices { drainCompletions(i); bindings[i].publish() }
            rounds += 1
        }
        checkAccounting()
        return accounting()
    }

    func accounting() -> FrameAccounting {
        FrameAccounting(
            total: pool.total, free: pool.count,
            inFillRings: bindings.reduce(0) { $0 + $1.inFill },
            inTXRings: bindings.reduce(0) { $0 + $1.inTX },
            doubleFrees: pool.doubleFrees, violations: violations)
    }

    func deallocate() {
        bindings.deinitialize().deallocate()
        hooks.deinitialize().deallocate()
        pollFDs.deallocate()
        pool.deallocate()
    }

    // MARK: - One pass

    /// Completions, then RX → TX on every binding, then fill rings, TX kicks and counters.
    /// Returns whether anything was received.
    @inline(__always)
    mutating func pass() -> Bool {
        var worked = false
        for i in bindings.indices { drainCompletions(i) }
        for i in bindings.indices {
            if forward(i) { worked = true }
        }
        for i in bindings.indices {
            refill(i)
            kickTX(i)
            bindings[i].publish()
        }
        checkAccounting()
        return worked
    }

    /// RX of binding `i` → TX of its peer. Returns whether anything was received.
    @inline(__always)
    private mutating func forward(_ i: Int) -> Bool {
        let b = bindings[i]
        var rxIndex: UInt32 = 0
        // RX ring: the kernel owns the producer; we own the consumer (peek advances our cached
        // consumer, release publishes it).
        let received = xsk_ring_cons__peek(b.rx, Self.batch, &rxIndex)
        guard received > 0 else { return false }
        let mirroring = hooks[i].batchStarted()

        let peer = b.peer
        let peerTX = bindings[peer].tx
        // TX ring: we own the producer; the kernel owns the consumer (nb_free refreshes our
        // cached copy of it). Take what fits; the rest is dropped — a full TX ring never stalls RX.
        let room = xsk_prod_nb_free(peerTX, received)
        let accepted = min(received, room)
        var txIndex: UInt32 = 0
        if accepted > 0 { _ = xsk_ring_prod__reserve(peerTX, accepted, &txIndex) }

        var bytes: UInt64 = 0
        var forwardedBytes: UInt64 = 0
        for j in 0..<received {
            let desc = xsk_ring_cons__rx_desc(b.rx, rxIndex &+ j).pointee
            bytes &+= UInt64(desc.len)
            let forwarded = j < accepted
            if forwarded {
                let out = xsk_ring_prod__tx_desc(peerTX, txIndex &+ j)!
                out.pointee.addr = desc.addr
                out.pointee.len = desc.len
                out.pointee.options = 0
                forwardedBytes &+= UInt64(desc.len)
            }
            // Forwarding decided; the bytes are still ours (TX not submitted yet, or the frame
            // not yet back on the free list): mirror now.
            if mirroring {
                let frame = UnsafeRawBufferPointer(start: xsk_umem__get_data(area, desc.addr), count: Int(desc.len))
                hooks[i].frameReceived(frame, forwarded: forwarded)
            }
            if !forwarded { pool.give(desc.addr) }
        }
        hooks[i].batchEnded()
        // Hand the RX slots back to the kernel (consumer index is ours).
        xsk_ring_cons__release(b.rx, received)
        if accepted > 0 {
            // Publish the TX descriptors (producer index is ours; release-store in libxdp).
            xsk_ring_prod__submit(peerTX, accepted)
            bindings[peer].inTX += Int(accepted)
        }
        bindings[i].inFill -= Int(received)
        bindings[i].rxPackets &+= UInt64(received)
        bindings[i].rxBytes &+= bytes
        bindings[i].txPackets &+= UInt64(accepted)
        bindings[i].txBytes &+= forwardedBytes
        bindings[i].txDrops &+= UInt64(received - accepted)
        bindings[i].dirty = true
        return true
    }

    /// Completion ring of binding `i` → free list.
    @inline(__always)
    private mutating func drainCompletions(_ i: Int) {
        let b = bindings[i]
        guard b.inTX > 0 else { return }
        var index: UInt32 = 0
        // Completion ring: the kernel owns the producer, we own the consumer.
        let done = xsk_ring_cons__peek(b.comp, b.comp.pointee.size, &index)
        guard done > 0 else { return }
        for j in 0..<done {
            pool.give(xsk_ring_cons__comp_addr(b.comp, index &+ j).pointee)
        }
        xsk_ring_cons__release(b.comp, done)
        bindings[i].inTX -= Int(done)
        bindings[i].txCompletions &+= UInt64(done)
        bindings[i].dirty = true
    }

    /// Free list → fill ring of binding `i`, as much as fits.
    @inline(__always)
    private mutating func refill(_ i: Int) {
        let b = bindings[i]
        guard pool.count > 0 else { return }
        // Fill ring: we own the producer, the kernel owns the consumer.
        let room = xsk_prod_nb_free(b.fill, UInt32(pool.count))
        let count = min(room, UInt32(pool.count))
        guard count > 0 else { return }
        var index: UInt32 = 0
        guard xsk_ring_prod__reserve(b.fill, count, &index) == count else { return }
        for j in 0..<count {
            xsk_ring_prod__fill_addr(b.fill, index &+ j).pointee = pool.take()!
        }
        xsk_ring_prod__submit(b.fill, count)
        bindings[i].inFill += Int(count)
        // need_wakeup: only a driver that stopped for lack of fill entries asks to be woken.
        if xsk_ring_prod__needs_wakeup(b.fill) != 0 {
            _ = recvfrom(b.fd, nil, 0, Int32(MSG_DONTWAIT), nil, nil)
        }
    }

    /// Copy-mode TX only happens in sendmsg (≤ 32 frames per call in the kernel's generic xmit),
    /// so kick while the kernel has not consumed everything we submitted and asks for a wake-up.
    @inline(__always)
    private func kickTX(_ i: Int) {
        let b = bindings[i]
        guard b.inTX > 0 else { return }
        let unconsumed = xsk_prod_nb_free(b.tx, b.tx.pointee.size) < b.tx.pointee.size
        if unconsumed, xsk_ring_prod__needs_wakeup(b.tx) != 0 {
            // EAGAIN/EBUSY/ENOBUFS: try again next pass; ENETDOWN: the frames complete as errors.
            _ = sendto(b.fd, nil, 0, Int32(MSG_DONTWAIT), nil, 0)
        }
    }

    /// Sleep until a socket has RX work or stop is requested. With frames still in flight on a
    /// TX ring, sleep at most 1 ms so their completions are collected promptly.
    private mutating func sleep() {
        let inFlight = bindings.contains { $0.inTX > 0 }
        for i in pollFDs.indices { pollFDs[i].revents = 0 }
        _ = poll(pollFDs.baseAddress, nfds_t(pollFDs.count), inFlight ? 1 : 1000)
    }

    /// Debug invariant: every frame is free, on a fill/RX ring, or on a TX/completion ring.
    private mutating func checkAccounting() {
        var sum = pool.count
        for b in bindings { sum += b.inFill + b.inTX }
        if sum != pool.total {
            violations &+= 1
            publishedViolations.store(violations, ordering: .relaxed)
        }
    }
}
