import Foundation
import Glibc
import SpanTapSystem

/// CLOCK_REALTIME minus CLOCK_MONOTONIC, in ns: the pair with the tightest bracket of 50 reads.
func realtimeMinusMonotonic() -> Int64 {
    var best: (width: UInt64, offset: Int64) = (.max, 0)
    for _ in 0..<50 {
        let before = MonotonicClock.nanoseconds()
        var real = timespec()
        clock_gettime(CLOCK_REALTIME, &real)
        let after = MonotonicClock.nanoseconds()
        let realNs = Int64(real.tv_sec) * 1_000_000_000 + Int64(real.tv_nsec)
        if after - before < best.width {
            best = (after - before, realNs - Int64(before + (after - before) / 2))
        }
    }
    return best.offset
}

/// One result line of JSON on stdout (keys in snake_case, sorted), flushed at once: the harness
/// (Benchmarks/harness) reads the lines as they come, e.g. `ready` before it starts the load.
func emit(_ value: some Encodable) {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    do {
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    } catch {
        fail("cannot encode a result: \(error)")
    }
    fflush(nil)
}

func fail(_ message: String) -> Never {
    let line = "spantap-bench: \(message)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    exit(2)
}

/// The benchmark frame: locally administered MACs that are not the TAP's own (so the stack
/// drops it early as PACKET_OTHERHOST, as for any mirrored frame), EtherType 0x88b5 (local
/// experimental), then a sequence number, then a fixed fill. The same bytes as the C baseline.
func benchFrame(length: Int, sequence: UInt64) -> [UInt8] {
    var frame = [UInt8](repeating: 0xa5, count: length)
    let header: [UInt8] = [0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x88, 0xb5]
    frame.replaceSubrange(0..<14, with: header)
    withUnsafeBytes(of: sequence.littleEndian) { frame.replaceSubrange(14..<22, with: $0) }
    return frame
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2]
        : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// Percentile by nearest rank over sorted values.
func percentile(_ sorted: [Int64], _ p: Double) -> Int64 {
    guard !sorted.isEmpty else { return -1 }
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
    return sorted[max(0, min(sorted.count - 1, rank - 1))]
}

/// Blocks SIGINT/SIGTERM in every thread (call first), so `waitForStopSignal` can sigwait them.
func blockStopSignals() {
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    sigaddset(&set, SIGTERM)
    pthread_sigmask(SIG_BLOCK, &set, nil)
}

func waitForStopSignal() {
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    sigaddset(&set, SIGTERM)
    var signal: Int32 = 0
    sigwait(&set, &signal)
}
