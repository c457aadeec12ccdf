import ArgumentParser
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
struct Hook: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Row 2: ns/packet of the mirror hook in the shipped forwarding loop.")
    @Option(help: "none (hook calls compiled out), unmirrored (no rule), or rate:N.")
    var variant = "none"
    @Option(help: "Frame length in bytes.")
    var size = 64
    @Option(help: "Packets per repetition.")
    var packets = 1 << 24
    @Option(help: "Timed repetitions (the median is reported).")
    var reps = 5
    @Option(help: "The rule's max-packets-per-second (0: none): what the limiter adds to rate:N.")
    var limit: UInt32 = 0
    @Flag(help: "Drain the ring on this thread after each batch (deterministic: the valgrind rows).")
    var inlineConsumer = false
    // spin: re-read the producer index as fast as possible (worst case for the shared lines);
    // batch: like a sink busy writing, look again only ~2 µs after a drain that found < 64 records.
    @Option(name: .customLong("consumer"), help: "The consumer thread's style: batch or spin.")
    var consumerStyle = "batch"

    func validate() throws {
        guard variant == "none" || variant == "unmirrored" || (variant.hasPrefix("rate:") && UInt32(variant.dropFirst(5)) != nil) else {
            throw ValidationError("--variant must be none, unmirrored or rate:N, not \(variant)")
        }
        guard ["batch", "spin"].contains(consumerStyle) else { throw ValidationError("--consumer must be batch or spin") }
        guard size >= 22, size <= 2048, packets > 0, reps > 0 else { throw ValidationError("--size 22...2048, --packets and --reps above 0") }
    }

    func run() throws {
        let lab = LoopBench(frame: benchFrame(length: size, sequence: 0))

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
            for _ in 0..<reps { results.append(lab.run(&step, packets: packets)) }
        case _ where variant == "unmirrored" || variant.hasPrefix("rate:"):
            if variant != "unmirrored" {
                let rate = UInt32(variant.dropFirst(5))!
                ring.publishRules([RingRule(ifindex: context.ifindex, outputID: 0, rate: rate, maxPacketsPerSecond: limit)])
            }
            if inlineConsumer {
                var step = DrainingMirrorHook(hook: mirror.hook(), consumer: consumer)
                _ = lab.run(&step, packets: 6400)
                for _ in 0..<reps { results.append(lab.run(&step, packets: packets)) }
            } else {
                drainer = ConsumerThread(consumer, backOff: consumerStyle == "batch")
                var step = mirror.hook()
                _ = lab.run(&step, packets: 6400)
                for _ in 0..<reps { results.append(lab.run(&step, packets: packets)) }
                drainer?.stop()
            }
        default:
            preconditionFailure("validate() admits no other variant")
        }
        let counters = ring.counters
        let offered = counters.mirroredPackets + counters.mirrorDropsQueueFull
        emit(HookResult(variant: variant, limit: limit, consumer: inlineConsumer ? "inline" : consumerStyle, size: size,
                        packets: packets, reps: reps, nsPerPacket: median(results), all: results,
                        mirrored: counters.mirroredPackets, dropsQueueFull: counters.mirrorDropsQueueFull,
                        dropsRateLimited: counters.mirrorDropsRateLimited, consumed: drainer?.consumed ?? 0,
                        enqueuedShare: offered == 0 ? nil : Double(counters.mirroredPackets) / Double(offered),
                        checksum: lab.checksum))
    }
}

struct HookResult: Encodable {
    var event = "result"
    var variant: String, limit: UInt32, consumer: String, size: Int, packets: Int, reps: Int
    var nsPerPacket: Double, all: [Double]
    var mirrored: UInt64, dropsQueueFull: UInt64, dropsRateLimited: UInt64, consumed: Int
    var enqueuedShare: Double?
    var checksum: UInt64
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
