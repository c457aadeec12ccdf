import CLibXDP
import Foundation
import SpanTapFastPath
import SpanTapRing
import Synchronization

/// Row 2: the per-packet cost of the mirror hook, in process, over prepared frames.
///
/// The loop body is `ForwardingLoop.forward(_:)` line for line (libxdp's own inline ring
/// accessors on an RX and a TX ring in ordinary memory), with the kernel's side emulated per
/// batch: 64 descriptors appear on RX, TX is consumed at once and its frames go through a
/// free list back towards the fill ring. No syscalls, no sockets: what remains is exactly the
/// work the loop does per frame, so the difference between variants is the hook's cost.
///
/// Variants: `none` (the hook calls are compiled out), `unmirrored` (a hook whose ingress has no
/// rule), `rate:N` (a rule with rate N; rate 1 mirrors every frame into a 4096 x 2048 B ring that
/// a consumer thread drains, reading each record and touching its first frame byte).
func hookBench(_ options: Options) throws {
    let length = options.int("size", 64)
    let packets = options.int("packets", 1 << 24)
    let repetitions = options.int("reps", 5)
    let variant = options.string("variant", "none")
    let inlineConsumer = options.flag("inline-consumer")
    // spin: re-read the producer index as fast as possible (worst case for the shared lines);
    // batch: like a sink busy writing, look again only ~2 µs after a drain that found < 64 records.
    let consumerStyle = options.string("consumer", "batch")
    let lab = FakeXSK(frameLength: length)
    defer { lab.deallocate() }

    let context = MirrorHookContext(crossConnect: "bench", interface: "bench0", ifindex: 7, queue: 0)
    let ring = try HandoffRing.create(name: "bench-hook", geometry: RingGeometry(slotCount: 4096, slotSize: 2048))
    let mirror = BindingMirror(context: context, ring: ring)
    let consumer = UnsafeMutablePointer<RingConsumer>.allocate(capacity: 1)
    consumer.initialize(to: ring.makeConsumer())
    defer { consumer.deinitialize(count: 1); consumer.deallocate() }

    var results: [Double] = []
    var drainer: ConsumerThread?
    switch variant {
    case "none":
        var step = NoHook()
        _ = lab.run(&step, packets: 6400)
        for _ in 0..<repetitions { results.append(lab.run(&step, packets: packets)) }
    case _ where variant == "unmirrored" || variant.hasPrefix("rate:"):
        if variant != "unmirrored" {
            guard let rate = UInt32(variant.dropFirst(5)) else { fail("bad variant \(variant)") }
            ring.publishRules([RingRule(ifindex: context.ifindex, outputID: 0, rate: rate)])
        }
        if !inlineConsumer { drainer = ConsumerThread(consumer, backOff: consumerStyle == "batch") }
        var step = RealHook(hook: mirror.hook(), consumer: inlineConsumer ? consumer : nil)
        _ = lab.run(&step, packets: 6400)
        for _ in 0..<repetitions { results.append(lab.run(&step, packets: packets)) }
        drainer?.stop()
    default:
        fail("unknown variant \(variant) (none, unmirrored, rate:N)")
    }
    let counters = ring.counters
    let offered = counters.mirroredPackets + counters.mirrorDropsQueueFull
    print("variant=\(variant) consumer=\(inlineConsumer ? "inline" : consumerStyle) size=\(length) packets=\(packets) reps=\(repetitions) ns_per_packet=\(format(median(results), 2))"
          + " all=\(results.map { format($0, 2) }.joined(separator: ",")) mirrored=\(counters.mirroredPackets)"
          + " drops_queue_full=\(counters.mirrorDropsQueueFull) consumed=\(drainer?.consumed ?? 0)"
          + " enqueued_share=\(offered == 0 ? "n/a" : format(Double(counters.mirroredPackets) / Double(offered), 4))"
          + " checksum=\(lab.checksum)")
}

/// What the loop calls per batch and per frame; specialized per conformer, so `NoHook` compiles away.
protocol HookStep {
    mutating func batchStarted()
    mutating func frameReceived(_ frame: UnsafeRawBufferPointer, forwarded: Bool)
    mutating func batchEnded()
}

struct NoHook: HookStep {
    @inline(__always) mutating func batchStarted() {}
    @inline(__always) mutating func frameReceived(_ frame: UnsafeRawBufferPointer, forwarded: Bool) {}
    @inline(__always) mutating func batchEnded() {}
}

struct RealHook: HookStep {
    var hook: MirrorHook
    /// Valgrind runs: drain on this thread after every batch (one thread, deterministic).
    let consumer: UnsafeMutablePointer<RingConsumer>?

    @inline(__always) mutating func batchStarted() { hook.batchStarted() }
    @inline(__always) mutating func frameReceived(_ frame: UnsafeRawBufferPointer, forwarded: Bool) {
        hook.frameReceived(frame, forwarded: forwarded)
    }
    @inline(__always) mutating func batchEnded() {
        hook.batchEnded()
        guard let consumer else { return }
        var touched: UInt8 = 0
        // The bench's own producer cannot break the protocol.
        _ = try! consumer.pointee.drain(limit: 4096) { record in
            touched &+= record.frame.first ?? 0
            return true
        }
        blackHole(touched)
    }
}

@inline(never) func blackHole<T>(_ value: T) { withExtendedLifetime(value) {} }

/// A live sink stand-in: drains the ring as fast as it can on its own thread.
final class ConsumerThread: @unchecked Sendable {
    nonisolated(unsafe) private let consumer: UnsafeMutablePointer<RingConsumer>
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private(set) var consumed = 0

    init(_ consumer: UnsafeMutablePointer<RingConsumer>, backOff: Bool) {
        self.consumer = consumer
        let thread = Thread { [self] in
            var total = 0
            var touched: UInt8 = 0
            while !stopping.load(ordering: .relaxed) {
                let drained = try! self.consumer.pointee.drain(limit: 256) { record in
                    touched &+= record.frame.first ?? 0
                    return true
                }
                total += drained
                if backOff, drained < 64 {
                    let until = monotonicNanoseconds() + 2_000
                    while monotonicNanoseconds() < until {}
                }
            }
            blackHole(touched)
            consumed = total
            finished.signal()
        }
        thread.start()
    }

    func stop() {
        stopping.store(true, ordering: .relaxed)
        finished.wait()
    }
}

/// An AF_XDP binding's RX ring and its peer's TX ring in plain memory, plus a UMEM-like area of
/// 2048 frames (4 KiB apart, like the real UMEM) holding the prepared frame.
final class FakeXSK {
    static let ringSize: UInt32 = 2048
    static let frameSize = 4096
    let rx: UnsafeMutablePointer<xsk_ring_cons>
    let tx: UnsafeMutablePointer<xsk_ring_prod>
    private let words: UnsafeMutablePointer<UInt32>   // rx prod/cons/flags, tx prod/cons/flags
    private let rxDescs: UnsafeMutablePointer<xdp_desc>
    private let txDescs: UnsafeMutablePointer<xdp_desc>
    let area: UnsafeMutableRawPointer
    private let freeList: UnsafeMutablePointer<UInt64>
    private var freeCount = 0
    private(set) var rxPackets: UInt64 = 0
    private(set) var rxBytes: UInt64 = 0
    private(set) var txPackets: UInt64 = 0
    private(set) var txBytes: UInt64 = 0
    private(set) var txDrops: UInt64 = 0

    init(frameLength: Int) {
        let n = Int(Self.ringSize)
        words = .allocate(capacity: 6)
        words.initialize(repeating: 0, count: 6)
        rxDescs = .allocate(capacity: n)
        txDescs = .allocate(capacity: n)
        txDescs.initialize(repeating: xdp_desc(), count: n)
        area = .allocate(byteCount: n * Self.frameSize, alignment: 4096)
        freeList = .allocate(capacity: n)
        let frame = benchFrame(length: frameLength, sequence: 0)
        for i in 0..<n {
            (area + i * Self.frameSize).copyMemory(from: frame, byteCount: frameLength)
            (area + i * Self.frameSize + 14).storeBytes(of: UInt64(i), toByteOffset: 0, as: UInt64.self)
            rxDescs[i] = xdp_desc(addr: UInt64(i * Self.frameSize), len: UInt32(frameLength), options: 0)
        }
        rx = .allocate(capacity: 1)
        rx.initialize(to: xsk_ring_cons(cached_prod: 0, cached_cons: 0, mask: Self.ringSize - 1, size: Self.ringSize,
                                        producer: words, consumer: words + 1, ring: UnsafeMutableRawPointer(rxDescs),
                                        flags: words + 2))
        tx = .allocate(capacity: 1)
        // libxdp starts a producer's cached_cons one ring size ahead (xsk_prod_nb_free relies on it).
        tx.initialize(to: xsk_ring_prod(cached_prod: 0, cached_cons: Self.ringSize, mask: Self.ringSize - 1,
                                        size: Self.ringSize, producer: words + 3, consumer: words + 4,
                                        ring: UnsafeMutableRawPointer(txDescs), flags: words + 5))
    }

    func deallocate() {
        rx.deallocate(); tx.deallocate(); words.deallocate(); rxDescs.deallocate(); txDescs.deallocate()
        area.deallocate(); freeList.deallocate()
    }

    var checksum: UInt64 { rxBytes &+ txBytes &+ txDrops &+ UInt64(txDescs[5].addr) }

    /// Runs `packets` frames (whole batches of 64) through the loop body; returns ns per packet.
    func run<Hook: HookStep>(_ hook: inout Hook, packets: Int) -> Double {
        let batches = packets / 64
        let start = monotonicNanoseconds()
        for _ in 0..<batches {
            words[0] &+= 64 // the kernel produced 64 RX descriptors
            forwardOneBatch(&hook)
            words[4] = words[3] // the kernel consumed our TX descriptors
        }
        return Double(monotonicNanoseconds() - start) / Double(batches * 64)
    }

    /// `ForwardingLoop.forward(_:)` with the same libxdp calls, plus completion -> free list -> fill.
    @inline(__always)
    private func forwardOneBatch<Hook: HookStep>(_ hook: inout Hook) {
        var rxIndex: UInt32 = 0
        let received = xsk_ring_cons__peek(rx, 64, &rxIndex)
        guard received > 0 else { return }
        hook.batchStarted()
        let room = xsk_prod_nb_free(tx, received)
        let accepted = min(received, room)
        var txIndex: UInt32 = 0
        if accepted > 0 { _ = xsk_ring_prod__reserve(tx, accepted, &txIndex) }
        var bytes: UInt64 = 0
        var forwardedBytes: UInt64 = 0
        for j in 0..<received {
            let desc = xsk_ring_cons__rx_desc(rx, rxIndex &+ j).pointee
            bytes &+= UInt64(desc.len)
            let forwarded = j < accepted
            if forwarded {
                let out = xsk_ring_prod__tx_desc(tx, txIndex &+ j)!
                out.pointee.addr = desc.addr
                out.pointee.len = desc.len
                out.pointee.options = 0
                forwardedBytes &+= UInt64(desc.len)
            }
            let frame = UnsafeRawBufferPointer(start: xsk_umem__get_data(area, desc.addr), count: Int(desc.len))
            hook.frameReceived(frame, forwarded: forwarded)
            if !forwarded { freeList[freeCount] = desc.addr; freeCount += 1 }
        }
        xsk_ring_cons__release(rx, received)
        if accepted > 0 { xsk_ring_prod__submit(tx, accepted) }
        // Completions back to the free list, free list back to the fill ring (per frame, as the loop).
        for j in 0..<accepted {
            freeList[freeCount] = xsk_ring_prod__tx_desc(tx, txIndex &+ j)!.pointee.addr
            freeCount += 1
        }
        while freeCount > 0 { freeCount -= 1; blackHoleAddress(freeList[freeCount]) }
        rxPackets &+= UInt64(received)
        rxBytes &+= bytes
        txPackets &+= UInt64(accepted)
        txBytes &+= forwardedBytes
        txDrops &+= UInt64(received - accepted)
        hook.batchEnded()
    }

    /// The fill ring write, reduced to a store the optimizer must keep.
    @inline(__always) private func blackHoleAddress(_ address: UInt64) { txDescs[0].options = UInt32(truncatingIfNeeded: address) }
}
