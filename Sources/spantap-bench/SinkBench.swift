import ArgumentParser
import Glibc
import Logging
import SpanTapLink
import SpanTapRing
import SpanTapSink
import SpanTapSystem
import SystemPackage

/// Rows 1 and 1c: frames/s SinkService moves from full rings into a TAP, or into an ERSPAN Type
/// III session (`--remote`), to one output or to a fan-out of `--fan-out` outputs.
///
/// Each round makes `--rings` fresh rings of `--slots` slots (default: one per worker), fills them
/// completely (not timed), then times `SinkService.attach` of all of them until the output has
/// taken every record (delivered + write errors), polling the output counters every 100 µs from
/// this thread. Rounds repeat for `--seconds`; the result is total frames / total drain time.
/// The TAP (`--tap`) is an existing persistent TAP the script made (multi-queue for `--queues`
/// above 1), attached with `TapOutput.create(persistent: true)` as spantapd would. `--io-uring
/// off` forces write(2); `--workers` sink workers share the rings (worker w writes to queue
/// w mod queues). With `--remote` the output is a GRE socket to that IPv4 address (from `--local`)
/// sending ERSPAN Type III, as spantapd's; with `--fan-out K` the rings' records name a fan-out
/// of K outputs sharing the TAP's (or socket's) descriptors, so the figure is K copies per record.
struct Sink: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Rows 1 and 1c: frames/s SinkService moves from full rings into a TAP or an ERSPAN session.")
    @Option(help: "An existing persistent TAP (multi-queue for --queues above 1).") var tap: String?
    @Option(help: "Send ERSPAN Type III to this IPv4 address instead of writing a TAP.") var remote: String?
    @Option(help: "Source address for --remote.") var local: String?
    @Option(help: "Outputs every record goes to (a fan-out above 1).") var fanOut = 1
    @Option(help: "Frame length in bytes.") var size: Int
    @Option(help: "Slots per ring.") var slots = 65536
    @Option(help: "How long to repeat rounds.") var seconds = 1.0
    @Option(help: "Queue fds to open on the TAP.") var queues = 1
    @Option(help: "Sink workers.") var workers = 1
    @Option(help: "Rings per round (default: one per worker).") var rings: Int?
    @Option(help: "on: io_uring writes; off: the write(2) fallback.") var ioUring = "on"

    func validate() throws {
        guard ["on", "off"].contains(ioUring) else { throw ValidationError("--io-uring must be on or off") }
        guard size >= 22, slots > 0, queues > 0, workers > 0, (rings ?? 1) > 0, seconds > 0, (1...16).contains(fanOut) else {
            throw ValidationError("--size at least 22; --slots, --queues, --workers, --rings and --seconds above 0; --fan-out 1 to 16")
        }
        guard (tap == nil) != (remote == nil) else { throw ValidationError("give --tap or --remote") }
    }

    /// The descriptors and the session of the output under test; `keep` holds what owns them.
    private func output() throws -> (descriptors: [FileDescriptor], tunnel: TunnelSession?, keep: () -> Void) {
        if let remote {
            let socket = try GRESocket(name: "bench", remote: remote, local: local)
            let session = try TunnelSession(header: TunnelHeader(.erspanTypeIII(sessionID: 1, hardwareID: 0)), ipv6: false,
                                            descriptor: socket.descriptor)
            return ([socket.descriptor], session, { withExtendedLifetime(socket) {} })
        }
        let output = try TapOutput.create(name: tap!, configuration: TapConfiguration(mtu: 2000, persistent: true, queues: queues),
                                          control: LinkControl())
        return (output.fds, nil, { try? output.remove() })
    }

    func run() throws {
        let ringCount = rings ?? workers
        let geometry = try RingGeometry(slotCount: slots, maximumFrameLength: size)
        let (descriptors, tunnel, keep) = try output()
        defer { keep() }
        var logger = Logger(label: "bench.sink")
        logger.logLevel = .warning
        let sink = SinkService(workers: workers, ioUring: ioUring == "on", logger: logger)
        // One output, id 0; or K outputs 0..<K and the fan-out id K the records carry.
        let members = (0..<fanOut).map { SinkOutput(id: UInt32($0), name: "bench\($0)", descriptors: descriptors, tunnel: tunnel) }
        for member in members { sink.addOutput(member) }
        let recordOutput = fanOut == 1 ? UInt32(0) : UInt32(fanOut)
        if fanOut > 1 { sink.setFanOut(id: recordOutput, members: members.map(\.id)) }
        defer { for member in members { sink.removeOutput(id: member.id) } }
        let taken = { members.reduce(UInt64(0)) { $0 + $1.counters.deliveredPackets + $1.counters.writeErrors } }

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
                        producer.tryEnqueue($0, rule: RingRule(ifindex: 1, outputID: recordOutput))
                    }
                    precondition(result == .enqueued)
                }
            }
            let target = taken() + UInt64(ringCount * slots * fanOut)
            let start = MonotonicClock.nanoseconds()
            for ring in rings { sink.attach(ring) }
            while taken() < target {
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
                        fanOut: fanOut, frames: frames, rounds: rounds, seconds: Double(busy) / 1e9, fps: rate,
                        writeErrors: members.reduce(0) { $0 + $1.counters.writeErrors }))
    }
}

struct SinkResult: Encodable {
    var event = "result"
    var method: String, queues: Int, workers: Int, rings: Int, size: Int, fanOut: Int
    var frames: UInt64, rounds: Int, seconds: Double, fps: Double, writeErrors: UInt64
}
