import Histogram
import Synchronization

/// How long an output's records waited: from the producer's `timestamp_ns` (CLOCK_MONOTONIC, taken
/// once per RX batch) to the end of the sink's write, as an HdrHistogram.
///
/// A sink worker reads the clock once per drained batch, after the batch's writes, and records one
/// value per output it delivered to: the age of that output's oldest record in the batch, counted
/// once for every record of the batch delivered there. So each record's figure is an upper bound,
/// off by at most one batch's spread, and recording costs one lock per output per batch (workers
/// sharing a multi-queue output take turns; status copies under the same lock). Recording
/// allocates nothing: the histogram's counts are allocated once, up to `highestNanoseconds`.
public final class OutputLatency: Sendable {
    /// Where status and the Prometheus histogram cut the distribution (`le`, in microseconds).
    public static let bucketBoundsMicroseconds: [UInt64] = [
        10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    ]
    /// Ages above this (a minute) are recorded as a minute: a producer's timestamp is untrusted.
    static let highestNanoseconds: UInt64 = 60_000_000_000

    private struct State {
        var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1_000, highestTrackableValue: OutputLatency.highestNanoseconds,
                                          numberOfSignificantValueDigits: .two)
        var sumNanoseconds: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// `count` records, each at most `age` old when its write finished.
    func record(ageNanoseconds age: UInt64, count: UInt64) {
        let clamped = min(age, Self.highestNanoseconds)
        state.withLock { state in
            state.histogram.record(clamped, count: count)
            state.sumNanoseconds &+= clamped &* count
        }
    }

    public func snapshot() -> LatencySnapshot {
        state.withLock { state in
            let histogram = state.histogram
            return LatencySnapshot(
                samples: histogram.totalCount,
                p50Nanoseconds: histogram.totalCount == 0 ? 0 : histogram.valueAtPercentile(50),
                p99Nanoseconds: histogram.totalCount == 0 ? 0 : histogram.valueAtPercentile(99),
                maxNanoseconds: histogram.totalCount == 0 ? 0 : histogram.max,
                sumNanoseconds: state.sumNanoseconds,
                cumulativeCounts: Self.bucketBoundsMicroseconds.map { histogram.count(within: 0...($0 * 1_000)) })
        }
    }
}

/// One output's latency distribution at one moment.
public struct LatencySnapshot: Sendable, Equatable {
    public var samples: UInt64
    public var p50Nanoseconds: UInt64
    public var p99Nanoseconds: UInt64
    public var maxNanoseconds: UInt64
    public var sumNanoseconds: UInt64
    /// Records at most `OutputLatency.bucketBoundsMicroseconds[i]` old, for each `i`.
    public var cumulativeCounts: [UInt64]
}
