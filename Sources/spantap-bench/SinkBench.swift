import Glibc
import Logging
import SpanTapLink
import SpanTapRing
import SpanTapSink
import SpanTapSystem

/// Row 1: frames/s SinkService moves from full rings into a TAP.
///
/// Each round makes `--rings` fresh rings of `--slots` slots (default: one per worker), fills them
/// completely (not timed), then times `SinkService.attach` of all of them until the output has
/// taken every record (delivered + write errors), polling the output counters every 100 µs from
/// this thread. Rounds repeat for `--seconds`; the result is total frames / total drain time.
/// The TAP (`--tap`) is an existing persistent TAP the script made (multi-queue for `--queues`
/// above 1), attached with `TapOutput.create(persistent: true)` as spantapd would. `--io-uring
/// off` forces write(2); `--workers` sink workers share the rings (worker w writes to queue
/// w mod queues).
func sinkBench(_ options: Options) throws {
    let tapName = options.string("tap")
    let length = options.int("size")
    let slots = options.int("slots", 65536)
    let seconds = options.double("seconds", 1)
    let queues = options.int("queues", 1)
    let workers = options.int("workers", 1)
    let ringCount = options.int("rings", workers)
    let ioUring = options.string("io-uring", "on") == "on"
    let geometry = try RingGeometry(slotCount: slots, maximumFrameLength: length)
    let tap = try TapOutput.create(name: tapName, configuration: TapConfiguration(mtu: 2000, persistent: true, queues: queues),
                                   control: LinkControl())
    defer { try? tap.remove() }
    var logger = Logger(label: "bench.sink")
    logger.logLevel = .warning
    let sink = SinkService(workers: workers, ioUring: ioUring, logger: logger)
    let counters = OutputCounters()
    sink.addOutput(SinkOutput(id: 0, name: tapName, descriptors: tap.fds, counters: counters))
    defer { sink.removeOutput(id: 0) }

    var frame = benchFrame(length: length, sequence: 0)
    var frames: UInt64 = 0
    var busy: UInt64 = 0
    var rounds = 0
    let deadline = MonotonicClock.nanoseconds() + UInt64(seconds * 1e9)
    while MonotonicClock.nanoseconds() < deadline || rounds == 0 {
        let rings = try (0..<ringCount).map { _ in try HandoffRing.create(name: "bench-sink", geometry: geometry) }
        for ring in rings {
            var producer = ring.makeProducer()
            for i in 0..<slots {
                withUnsafeBytes(of: UInt64(i).littleEndian) { frame.replaceSubrange(14..<22, with: $0) }
                let result = frame.withUnsafeBytes {
                    producer.tryEnqueue($0, rule: RingRule(ifindex: 1, outputID: 0))
                }
                precondition(result == .enqueued)
            }
        }
        let target = counters.deliveredPackets + counters.writeErrors + UInt64(ringCount * slots)
        let start = MonotonicClock.nanoseconds()
        for ring in rings { sink.attach(ring) }
        while counters.deliveredPackets + counters.writeErrors < target {
            usleep(100)
            if MonotonicClock.nanoseconds() - start > 10_000_000_000 { fail("sink did not drain the rings in 10 s") }
        }
        busy += MonotonicClock.nanoseconds() - start
        for ring in rings { sink.detach(ring) }
        frames += UInt64(ringCount * slots)
        rounds += 1
    }
    let rate = Double(frames) / (Double(busy) / 1e9)
    print("impl=swift-sink method=\(sink.writeMethod) queues=\(queues) workers=\(workers) rings=\(ringCount) size=\(length) frames=\(frames) rounds=\(rounds) seconds=\(format(Double(busy) / 1e9, 3)) fps=\(Int(rate)) write_errors=\(counters.writeErrors)")
}
