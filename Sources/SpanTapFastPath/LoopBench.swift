import Atomics
import CLibXDP
import SpanTapRing
import SpanTapSystem

/// The shipped `ForwardingLoop` over one binding whose RX, TX, fill and completion rings live in
/// ordinary memory (libxdp's own ring structs and inline accessors), for spantap-bench row 2.
/// The kernel's side is emulated between passes: 64 frames move from the fill ring to RX before
/// each pass, and everything put on TX moves to the completion ring after it. The binding
/// transmits on itself. No syscalls (need_wakeup is never set), so what is timed is the loop's
/// own work per frame plus this emulation, and the difference between hooks is the hook's cost.
@_spi(Benchmark) public final class LoopBench {
    static let ringSize: UInt32 = 2048
    static let frameSize = 4096
    private let frameLength: Int
    /// prod, cons, flags of rx, tx, fill, comp.
    private let words: UnsafeMutablePointer<UInt32>
    private let rxDescs: UnsafeMutablePointer<xdp_desc>
    private let txDescs: UnsafeMutablePointer<xdp_desc>
    private let fillAddresses: UnsafeMutablePointer<UInt64>
    private let completionAddresses: UnsafeMutablePointer<UInt64>
    private let rx: UnsafeMutablePointer<xsk_ring_cons>
    private let tx: UnsafeMutablePointer<xsk_ring_prod>
    private let fill: UnsafeMutablePointer<xsk_ring_prod>
    private let comp: UnsafeMutablePointer<xsk_ring_cons>
    private let area: UnsafeMutableRawPointer
    private let counters = BindingCounters()

    /// 2048 frames 4 KiB apart (as in the UMEM), each a copy of `frame` with its index at byte 14.
    public init(frame: [UInt8]) {
        frameLength = frame.count
        let n = Int(Self.ringSize)
        words = .allocate(capacity: 12)
        rxDescs = .allocate(capacity: n)
        rxDescs.initialize(repeating: xdp_desc(), count: n)
        txDescs = .allocate(capacity: n)
        txDescs.initialize(repeating: xdp_desc(), count: n)
        fillAddresses = .allocate(capacity: n)
        fillAddresses.initialize(repeating: 0, count: n)
        completionAddresses = .allocate(capacity: n)
        completionAddresses.initialize(repeating: 0, count: n)
        area = .allocate(byteCount: n * Self.frameSize, alignment: 4096)
        for i in 0..<n {
            (area + i * Self.frameSize).copyMemory(from: frame, byteCount: frame.count)
            (area + i * Self.frameSize + 14).storeBytes(of: UInt64(i), as: UInt64.self)
        }
        rx = .allocate(capacity: 1)
        tx = .allocate(capacity: 1)
        fill = .allocate(capacity: 1)
        comp = .allocate(capacity: 1)
    }

    deinit {
        words.deallocate(); rxDescs.deallocate(); txDescs.deallocate()
        fillAddresses.deallocate(); completionAddresses.deallocate(); area.deallocate()
        rx.deallocate(); tx.deallocate(); fill.deallocate(); comp.deallocate()
    }

    /// rx + tx bytes and drops so far: printed, so the optimizer must keep the work.
    public var checksum: UInt64 {
        let values = counters.snapshot()
        return values.rxBytes &+ values.txBytes &+ values.txDrops
    }

    /// Runs `packets` frames (whole batches of 64) through the loop with no hook calls at all
    /// (the loop body alone); returns ns per packet.
    public func run(_ hook: inout NoHook, packets: Int) -> Double { measure(&hook, packets: packets) }

    /// The same with the shipped mirror hook: `ForwardingLoop<MirrorHook>`, the specialization
    /// spantapd runs. The hook's state (rules, counts) carries over to the next run, as in a
    /// running loop.
    public func run(_ hook: inout MirrorHook, packets: Int) -> Double { measure(&hook, packets: packets) }

    /// The mirror hook with the ring drained after each batch on this thread (the valgrind rows).
    /// A wrapper is a different specialization: its `frameReceived` is not always inlined, so
    /// its timings are not the shipped hook's.
    public func run(_ hook: inout DrainingMirrorHook, packets: Int) -> Double { measure(&hook, packets: packets) }

    private func measure<Hook: FrameHook>(_ hook: inout Hook, packets: Int) -> Double {
        resetRings()
        let stop = UnsafeAtomic<Bool>.create(false), violations = UnsafeAtomic<UInt64>.create(0)
        defer { stop.destroy(); violations.destroy() }
        var loop = ForwardingLoop(
            bindings: [LoopBinding(rx: rx, tx: tx, fill: fill, comp: comp, fd: -1, ifindex: 7, peer: 0, counters: counters)],
            hooks: [hook], area: area, frameCount: Int(Self.ringSize), frameSize: UInt32(Self.frameSize),
            stopFD: -1, stopRequested: stop, violations: violations)
        defer { loop.deallocate() }
        _ = loop.pass() // fills the fill ring
        let batches = packets / 64
        let start = Self.now()
        for _ in 0..<batches {
            kernelReceives(64)
            _ = loop.pass()
            kernelTransmits()
        }
        let elapsed = Self.now() - start
        precondition(loop.accounting().violations == 0, "frame accounting broke in the benchmark")
        hook = loop.hooks[0]
        return Double(elapsed) / Double(batches * 64)
    }

    private func resetRings() {
        words.initialize(repeating: 0, count: 12)
        let size = Self.ringSize, mask = Self.ringSize - 1
        rx.initialize(to: xsk_ring_cons(cached_prod: 0, cached_cons: 0, mask: mask, size: size, producer: words,
                                        consumer: words + 1, ring: UnsafeMutableRawPointer(rxDescs), flags: words + 2))
        // libxdp starts a producer's cached_cons one ring size ahead (xsk_prod_nb_free relies on it).
        tx.initialize(to: xsk_ring_prod(cached_prod: 0, cached_cons: size, mask: mask, size: size, producer: words + 3,
                                        consumer: words + 4, ring: UnsafeMutableRawPointer(txDescs), flags: words + 5))
        fill.initialize(to: xsk_ring_prod(cached_prod: 0, cached_cons: size, mask: mask, size: size, producer: words + 6,
                                          consumer: words + 7, ring: UnsafeMutableRawPointer(fillAddresses), flags: words + 8))
        comp.initialize(to: xsk_ring_cons(cached_prod: 0, cached_cons: 0, mask: mask, size: size, producer: words + 9,
                                          consumer: words + 10, ring: UnsafeMutableRawPointer(completionAddresses), flags: words + 11))
    }

    /// The kernel's RX: up to `count` frames from the fill ring onto the RX ring.
    @inline(__always)
    private func kernelReceives(_ count: UInt32) {
        let mask = Self.ringSize - 1
        let available = min(count, words[6] &- words[7], Self.ringSize &- (words[0] &- words[1]))
        for j in 0..<available {
            let address = fillAddresses[Int((words[7] &+ j) & mask)]
            rxDescs[Int((words[0] &+ j) & mask)] = xdp_desc(addr: address, len: UInt32(frameLength), options: 0)
        }
        words[7] &+= available
        words[0] &+= available
    }

    /// The kernel's TX: everything on the TX ring sent and completed.
    @inline(__always)
    private func kernelTransmits() {
        let mask = Self.ringSize - 1
        let pending = words[3] &- words[4]
        for j in 0..<pending {
            completionAddresses[Int((words[9] &+ j) & mask)] = txDescs[Int((words[4] &+ j) & mask)].addr
        }
        words[4] &+= pending
        words[9] &+= pending
    }

    private static func now() -> UInt64 { MonotonicClock.nanoseconds() }
}

/// No hook: the calls compile away (row 2's baseline).
@_spi(Benchmark) public struct NoHook: FrameHook {
    public init() {}
    @inline(__always) public mutating func batchStarted() -> Bool { false }
    @inline(__always) public mutating func frameReceived(_ frame: UnsafeRawBufferPointer, forwarded: Bool) {}
    @inline(__always) public mutating func batchEnded() {}
}

/// The mirror hook with its ring drained on this thread after every batch (one thread,
/// deterministic: the valgrind rows).
@_spi(Benchmark) public struct DrainingMirrorHook: FrameHook {
    var hook: MirrorHook
    let consumer: UnsafeMutablePointer<RingConsumer>

    public init(hook: MirrorHook, consumer: UnsafeMutablePointer<RingConsumer>) {
        self.hook = hook
        self.consumer = consumer
    }

    @inline(__always) public mutating func batchStarted() -> Bool { hook.batchStarted() }
    @inline(__always) public mutating func frameReceived(_ frame: UnsafeRawBufferPointer, forwarded: Bool) {
        hook.frameReceived(frame, forwarded: forwarded)
    }
    @inline(__always) public mutating func batchEnded() {
        hook.batchEnded()
        var touched: UInt8 = 0
        // The benchmark's own producer cannot break the protocol.
        _ = try! consumer.pointee.drain(limit: 4096) { record in
            touched &+= record.frame.first ?? 0
            return true
        }
        keep(touched)
    }
}

/// A use the optimizer cannot see through, so the drained bytes are really read.
@inline(never) func keep<T>(_ value: T) { withExtendedLifetime(value) {} }
