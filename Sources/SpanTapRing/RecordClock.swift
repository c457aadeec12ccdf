import SpanTapSystem

/// The clock of `spantap_record.timestamp_ns`: CLOCK_MONOTONIC in nanoseconds. Producers stamp
/// records with it and the sink ages them against it, so both read it here.
public enum RecordClock {
    @inlinable @inline(__always)
    public static func now() -> UInt64 { MonotonicClock.nanoseconds() }
}
