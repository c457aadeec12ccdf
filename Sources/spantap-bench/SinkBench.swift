import Glibc
import Logging
import SpanTapLink
import SpanTapRing
import SpanTapSink

/// Row 1: frames/s SinkService moves from a full ring into a TAP.
///
/// Each round makes a fresh ring of `--slots` slots, fills it completely (not timed), then times
/// `SinkService.attach` until the output has taken every record (delivered + write errors),
/// polling the output counters every 100 µs from this thread. Rounds repeat for `--seconds`;
/// the result is total frames / total drain time. The TAP (`--tap`) is an existing persistent
/// TAP the script made, attached with `TapOutput.create(persistent: true)` as spantapd would.
func sinkBench(_ options: Options) throws {
    let tapName = options.string("tap")
    let length = options.int("size")
    let slots = options.int("slots", 65536)
    let seconds = options.double("seconds", 1)
    let geometry = try RingGeometry(slotCount: slots, maximumFrameLength: length)
    let tap = try TapOutput.create(name: tapName, configuration: TapConfiguration(mtu: 2000, persistent: true),
                                   control: LinkControl())
    defer { try? tap.remove() }
    var logger = Logger(label: "bench.sink")
    logger.logLevel = .warning
    let sink = SinkService(logger: logger)
    let counters = OutputCounters()
    sink.addOutput(SinkOutput(id: 0, name: tapName, descriptor: tap.fd, counters: counters))
    defer { sink.removeOutput(id: 0) }

    var frame = benchFrame(length: length, sequence: 0)
    var frames: UInt64 = 0
    var busy: UInt64 = 0
    var rounds = 0
    let deadline = monotonicNanoseconds() + UInt64(seconds * 1e9)
    while monotonicNanoseconds() < deadline || rounds == 0 {
        let ring = try HandoffRing.create(name: "bench-sink", geometry: geometry)
        var producer = ring.makeProducer()
        for i in 0..<slots {
            withUnsafeBytes(of: UInt64(i).littleEndian) { frame.replaceSubrange(14..<22, with: $0) }
            let result = frame.withUnsafeBytes {
                producer.tryEnqueue($0, rule: RingRule(ifindex: 1, outputID: 0))
            }
            precondition(result == .enqueued)
        }
        let target = counters.deliveredPackets + counters.writeErrors + UInt64(slots)
        let start = monotonicNanoseconds()
        sink.attach(ring)
        while counters.deliveredPackets + counters.writeErrors < target {
            usleep(100)
            if monotonicNanoseconds() - start > 10_000_000_000 { fail("sink did not drain the ring in 10 s") }
        }
        busy += monotonicNanoseconds() - start
        sink.detach(ring)
        frames += UInt64(slots)
        rounds += 1
    }
    let rate = Double(frames) / (Double(busy) / 1e9)
    print("impl=swift-sink size=\(length) frames=\(frames) rounds=\(rounds) seconds=\(format(Double(busy) / 1e9, 3)) fps=\(Int(rate)) write_errors=\(counters.writeErrors)")
}
