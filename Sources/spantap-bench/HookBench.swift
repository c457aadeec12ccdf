import Foundation
@_spi(Benchmark) import SpanTapFastPath
import SpanTapRing
import SpanTapSystem
import Synchronization

/// Row 2: the per-packet cost of the mirror hook, in process, over prepared frames.
///
/// The loop is the shipped `ForwardingLoop` itself (`LoopBench`: its RX, TX, fill and completion
/// rings in ordinary memory, libxdp's own inline accessors), with the kernel's side emulated per
/// batch: 64 frames move from the fill ring to RX, and TX is completed at once. No syscalls, no
/// sockets: what remains is the work the loop does per frame, so the difference between variants
/// is the hook's cost.
///
/// Variants: `none` (the hook calls are compiled out), `unmirrored` (a hook whose ingress has no
/// rule), `rate:N` (a rule with rate N; rate 1 mirrors every frame into a 4096 x 2048 B ring that
/// a consumer thread drains, reading each record and touching its first frame byte).
func hookBench(_ options: Options) throws {
    let length = options.int("size", 64)
    let packets = options.int("packets", 1 << 24)
    let repetitions = options.int("reps", 5)
    let variant = options.string("variant", "none")
    // A rule's max-packets-per-second (0: none): what the limiter adds to the rate:N variants.
    let limit = UInt32(options.int("limit", 0))
    let inlineConsumer = options.flag("inline-consumer")
    // spin: re-read the producer index as fast as possible (worst case for the shared lines);
    // batch: like a sink busy writing, look again only ~2 µs after a drain that found < 64 records.
    let consumerStyle = options.string("consumer", "batch")
    let lab = LoopBench(frame: benchFrame(length: length, sequence: 0))

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
            ring.publishRules([RingRule(ifindex: context.ifindex, outputID: 0, rate: rate, maxPacketsPerSecond: limit)])
        }
        if inlineConsumer {
            var step = DrainingMirrorHook(hook: mirror.hook(), consumer: consumer)
            _ = lab.run(&step, packets: 6400)
            for _ in 0..<repetitions { results.append(lab.run(&step, packets: packets)) }
        } else {
            drainer = ConsumerThread(consumer, backOff: consumerStyle == "batch")
            var step = mirror.hook()
            _ = lab.run(&step, packets: 6400)
            for _ in 0..<repetitions { results.append(lab.run(&step, packets: packets)) }
            drainer?.stop()
        }
    default:
        fail("unknown variant \(variant) (none, unmirrored, rate:N)")
    }
    let counters = ring.counters
    let offered = counters.mirroredPackets + counters.mirrorDropsQueueFull
    print("variant=\(variant) limit=\(limit) consumer=\(inlineConsumer ? "inline" : consumerStyle) size=\(length) packets=\(packets) reps=\(repetitions) ns_per_packet=\(format(median(results), 2))"
          + " all=\(results.map { format($0, 2) }.joined(separator: ",")) mirrored=\(counters.mirroredPackets)"
          + " drops_queue_full=\(counters.mirrorDropsQueueFull) drops_rate_limited=\(counters.mirrorDropsRateLimited) consumed=\(drainer?.consumed ?? 0)"
          + " enqueued_share=\(offered == 0 ? "n/a" : format(Double(counters.mirroredPackets) / Double(offered), 4))"
          + " checksum=\(lab.checksum)")
}

@inline(never) func blackHole<T>(_ value: T) { withExtendedLifetime(value) {} }

/// A live sink stand-in: drains the ring as fast as it can on its own thread.
// @unchecked: the consumer is used only by the thread this type starts; others touch the atomic.
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
                    let until = MonotonicClock.nanoseconds() + 2_000
                    while MonotonicClock.nanoseconds() < until {}
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
