import ArgumentParser
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
struct Sink: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Row 1: frames/s SinkService moves from full rings into a TAP.")
    @Option(help: "An existing persistent TAP (multi-queue for --queues above 1).")
    var tap: String
    @Option(help: "Frame length in bytes.")
    var size: Int
    @Option(help: "Slots per ring.")
    var slots = 65536
    @Option(help: "How long to repeat rounds.")
    var seconds = 1.0
    @Option(help: "Queue fds to open on the TAP.")
    var queues = 1
    @Option(help: "Sink workers.")
    var workers = 1
    @Option(help: "Rings per round (default: one per worker).")
    var rings: Int?
    @Option(help: "on: io_uring writes; off: the write(2) fallback.")
    var ioUring = "on"

    func validate() throws {
        guard ["on", "off"].contains(ioUring) else { throw ValidationError("--io-uring must be on or off") }
        guard size >= 22, slots > 0, queues > 0, workers > 0, (rings ?? 1) > 0, seconds > 0 else {
            throw ValidationError("--size at least 22; --slots, --queues, --workers, --rings and --seconds above 0")
        }
    }

    func run() throws {
        let ringCount = rings ?? workers
        let geometry = try RingGeometry(slotCount: slots, maximumFrameLength: size)
        let output = try TapOutput.create(name: tap, configuration: TapConfiguration(mtu: 2000, persistent: true, queues: queues),
                                          control: LinkControl())
        defer { try? output.remove() }
        var logger = Logger(label: "bench.sink")
        logger.logLevel = .warning
        let sink = SinkService(workers: workers, ioUring: ioUring == "on", logger: logger)
        let counters = OutputCounters()
        sink.addOutput(SinkOutput(id: 0, name: tap, descriptors: output.fds, counters: counters))
        defer { sink.removeOutput(id: 0) }

        var frame = benchFrame(length: size, sequence: 0)
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
        emit(SinkResult(method: sink.writeMethod.description, queues: queues, workers: workers, rings: ringCount, size: size,
                        frames: frames, rounds: rounds, seconds: Double(busy) / 1e9, fps: rate, writeErrors: counters.writeErrors))
    }
}

struct SinkResult: Encodable {
    var event = "result"
    var method: String, queues: Int, workers: Int, rings: Int, size: Int
    var frames: UInt64, rounds: Int, seconds: Double, fps: Double, writeErrors: UInt64
}
