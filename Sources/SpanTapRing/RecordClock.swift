import Glibc

/// The clock of `spantap_record.timestamp_ns`: CLOCK_MONOTONIC in nanoseconds. Producers stamp
/// records with it and the sink ages them against it, so both read it here.
public enum RecordClock {
    @inlinable @inline(__always)
    public static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }
}
