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

/// `--name value` options after the subcommand.
struct Options {
    private var values: [String: String] = [:]
    private var flags: Set<String> = []

    init(_ arguments: ArraySlice<String>) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            guard argument.hasPrefix("--") else { fail("unexpected argument \(argument)") }
            let name = String(argument.dropFirst(2))
            if let equals = name.firstIndex(of: "=") {
                values[String(name[..<equals])] = String(name[name.index(after: equals)...])
            } else if ["inline-consumer"].contains(name) {
                flags.insert(name)
            } else if let value = iterator.next() {
                values[name] = value
            } else {
                fail("--\(name) needs a value")
            }
        }
    }

    func string(_ name: String, _ fallback: String? = nil) -> String {
        guard let value = values[name] ?? fallback else { fail("missing --\(name)") }
        return value
    }

    func int(_ name: String, _ fallback: Int? = nil) -> Int {
        guard let text = values[name] else {
            guard let fallback else { fail("missing --\(name)") }
            return fallback
        }
        guard let value = Int(text) else { fail("--\(name) must be a whole number") }
        return value
    }

    func double(_ name: String, _ fallback: Double) -> Double {
        values[name].flatMap(Double.init) ?? fallback
    }

    func flag(_ name: String) -> Bool { flags.contains(name) }
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

func format(_ value: Double, _ decimals: Int = 1) -> String {
    guard value.isFinite else { return "nan" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    return "\(rounded)"
}
