import ArgumentParser
import CSpanTapRing
import Glibc
import Logging
import SpanTapFastPath
import SpanTapLink
import SpanTapRing
import SpanTapSink
import SpanTapSystem
import Synchronization

/// Rows 3 and 5: SpanTap's cross-connect (generic XDP) between `--a` and `--b`, mirroring frames
/// received on `--a` as spantapd does (ring rule table -> per-binding ring -> SinkService -> TAP).
///
/// `--mirror off`: hooks installed, no rule (an unmirrored interface). `live`: rate `--rate`, rings
/// drained by a SinkService into the TAP `--tap` (made here). `stalled`: same rule, rings never
/// drained, so they fill and every later clone is dropped (queue full).
///
/// Prints `ready` once forwarding, runs until SIGTERM/SIGINT, then prints the counters. With
/// `--pcap FILE` (a `tcpdump -w` capture of the TAP, finished before the signal) it also matches
/// the capture against the ring's records, in order and byte for byte, and prints the
/// enqueue-to-capture latency: capture timestamp (the skb's CLOCK_REALTIME stamp, taken inside
/// the sink's write(2): a TAP write runs the receive path synchronously) converted to
/// CLOCK_MONOTONIC, minus the record's timestamp (CLOCK_MONOTONIC, taken by the hook at the start
/// of the frame's RX batch). Needs a ring with at least as many slots as frames mirrored.
struct Forward: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Rows 3, 5: the cross-connect between --a and --b, mirroring --a (until SIGTERM).")
    @Option(help: "The A side of the cross-connect (the mirrored one).")
    var a: String
    @Option(help: "The B side of the cross-connect.")
    var b: String
    @Option(help: "off (no rule), live (sink into --tap) or stalled (rings never drained).")
    var mirror = "off"
    @Option(help: "The rule's sampling rate.")
    var rate: UInt32 = 1
    @Option(help: "The TAP to create for --mirror live.")
    var tap: String?
    @Option(help: "Slots per ring.")
    var slots = 4096
    @Option(help: "A tcpdump -w capture of the TAP to match against the ring's records.")
    var pcap: String?

    func validate() throws {
        guard ["off", "live", "stalled"].contains(mirror) else { throw ValidationError("--mirror off|live|stalled") }
        guard mirror != "live" || tap != nil else { throw ValidationError("--mirror live needs --tap") }
        guard rate > 0, slots > 0 else { throw ValidationError("--rate and --slots above 0") }
    }

    func run() throws {
        blockStopSignals()
        let interfaceA = a, interfaceB = b, mode = mirror, tapName = tap ?? ""
        var logger = Logger(label: "bench.forward")
        logger.logLevel = .error
        let tap = mode == "live" ? try TapOutput.create(name: tapName,
                                                         configuration: TapConfiguration(mtu: 2000), control: LinkControl())
                                 : nil
        let sink = SinkService(logger: logger)
        let output = OutputCounters()
        if let tap { sink.addOutput(SinkOutput(id: 0, name: tap.name, descriptor: tap.fd, counters: output)) }
        let geometry = try RingGeometry(slotCount: slots, slotSize: 2048)
        let mirrors = Mutex<[BindingMirror]>([])
        let drained = mode == "live"
        let fastPath = FastPath(config: FastPathConfig(crossConnects: [
            CrossConnectConfig(name: "bench", interfaceA: interfaceA, interfaceB: interfaceB)], mode: .generic),
            logger: logger) { context in
            guard let ring = try? HandoffRing.create(name: "bench-\(context.interface)-\(context.queue)", geometry: geometry) else {
                return MirrorHook(context: context)
            }
            if mode != "off" { ring.publishRules([RingRule(ifindex: if_nametoindex(interfaceA), outputID: 0, rate: rate)]) }
            let mirror = BindingMirror(context: context, ring: ring)
            mirrors.withLock { $0.append(mirror) }
            if drained { sink.attach(ring) }
            return mirror.hook()
        }
        try fastPath.start()
        emit(ForwardReady(mode: fastPath.crossConnects.first?.mode?.rawValue ?? "?", bindings: mirrors.withLock { $0.count }))

        waitForStopSignal()
        let offset = realtimeMinusMonotonic()
        let reports = fastPath.stop()
        let list = mirrors.withLock { $0 }
        // Records the sink has not written yet still count as mirrored; let it finish (live only).
        if drained { for mirror in list { sink.detach(mirror.ring) } }
        var rx: UInt64 = 0, tx: UInt64 = 0, txDrops: UInt64 = 0
        for binding in reports.flatMap(\.bindings) where binding.interface == interfaceA {
            rx += binding.values.rxPackets
            tx += binding.values.txPackets
            txDrops += binding.values.txDrops
        }
        var mirrored: UInt64 = 0, queueFull: UInt64 = 0
        for mirror in list where mirror.context.interface == interfaceA {
            mirrored += mirror.ring.counters.mirroredPackets
            queueFull += mirror.ring.counters.mirrorDropsQueueFull
        }
        emit(ForwardResult(mode: mode, aRx: rx, aToBTx: tx, aToBTxDrops: txDrops, mirrored: mirrored, dropsQueueFull: queueFull,
                           delivered: output.deliveredPackets, writeErrors: output.writeErrors))
        if let pcap, let mirror = list.first(where: { $0.context.interface == interfaceA }) {
            try latency(ring: mirror.ring, mirrored: mirrored, pcapPath: pcap, realtimeMinusMonotonic: offset)
        }
        if let tap {
            sink.removeOutput(id: 0)
            try? tap.remove()
        }
    }
}

struct ForwardReady: Encodable {
    var event = "ready"
    var mode: String, bindings: Int
}

struct ForwardResult: Encodable {
    var event = "result"
    var mode: String, aRx: UInt64, aToBTx: UInt64, aToBTxDrops: UInt64, mirrored: UInt64, dropsQueueFull: UInt64
    var delivered: UInt64, writeErrors: UInt64
}

struct LatencyResult: Encodable {
    var event = "latency"
    var mirrored: UInt64, captured: Int, capturedShare: Double, matched: Int, mismatched: Int
    var p50Us: Double, p99Us: Double, maxUs: Double, minUs: Double
}

/// Matches capture k with ring record k (the ring is FIFO, the sink writes in order) and checks
/// the bytes agree; prints the share captured and the latency percentiles.
private func latency(ring: HandoffRing, mirrored: UInt64, pcapPath: String, realtimeMinusMonotonic offset: Int64) throws {
    let geometry = ring.geometry
    guard mirrored <= UInt64(geometry.slotCount) else {
        fail("\(mirrored) frames mirrored into \(geometry.slotCount) slots: records were overwritten")
    }
    let packets = try readPcap(pcapPath)
    let size = geometry.mappingSize
    let view: MappedRegion
    do { view = try MappedRegion(sharing: ring.memory, byteCount: size, access: .readOnly) } catch {
        fail("mmap ring for reading: \(error)")
    }
    let slots = view.base + Int(SPANTAP_RING_HEADER_SIZE)
    var latencies: [Int64] = []
    var mismatched = 0
    for (k, packet) in packets.prefix(Int(mirrored)).enumerated() {
        let slot = slots + k * geometry.slotSize
        let record = slot.loadUnaligned(as: spantap_record.self)
        let frame = UnsafeRawBufferPointer(start: slot + Int(SPANTAP_RECORD_SIZE), count: Int(record.captured_length))
        guard packet.bytes.count <= frame.count, packet.bytes.elementsEqual(frame.prefix(packet.bytes.count)) else {
            mismatched += 1
            continue
        }
        latencies.append(packet.realtimeNanoseconds - offset - Int64(record.timestamp_ns))
    }
    latencies.sort()
    let share = mirrored == 0 ? 0 : Double(packets.count) / Double(mirrored)
    emit(LatencyResult(mirrored: mirrored, captured: packets.count, capturedShare: share * 100, matched: latencies.count,
                       mismatched: mismatched, p50Us: Double(percentile(latencies, 50)) / 1000,
                       p99Us: Double(percentile(latencies, 99)) / 1000, maxUs: Double(latencies.last ?? -1) / 1000,
                       minUs: Double(latencies.first ?? -1) / 1000))
}

struct CapturedPacket {
    var realtimeNanoseconds: Int64
    var bytes: [UInt8]
}

/// A classic pcap file (microsecond or nanosecond magic, little-endian as tcpdump writes here).
func readPcap(_ path: String) throws -> [CapturedPacket] {
    guard let file = fopen(path, "rb") else { fail("cannot open \(path)") }
    defer { fclose(file) }
    var data: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        if n == 0 { break }
        data += chunk[0..<n]
    }
    func u32(_ at: Int) -> UInt32 {
        UInt32(data[at]) | UInt32(data[at + 1]) << 8 | UInt32(data[at + 2]) << 16 | UInt32(data[at + 3]) << 24
    }
    guard data.count >= 24 else { return [] }
    let magic = u32(0)
    guard magic == 0xa1b2c3d4 || magic == 0xa1b23c4d else { fail("\(path): not a little-endian pcap") }
    let fractionScale: Int64 = magic == 0xa1b23c4d ? 1 : 1000
    var packets: [CapturedPacket] = []
    var at = 24
    while at + 16 <= data.count {
        let seconds = Int64(u32(at)), fraction = Int64(u32(at + 4)), captured = Int(u32(at + 8))
        guard at + 16 + captured <= data.count else { break }
        packets.append(CapturedPacket(realtimeNanoseconds: seconds * 1_000_000_000 + fraction * fractionScale,
                                      bytes: Array(data[(at + 16)..<(at + 16 + captured)])))
        at += 16 + captured
    }
    return packets
}
