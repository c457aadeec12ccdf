import Glibc

/// CLOCK_MONOTONIC, the clock of ring records' `timestamp_ns`, of rate limiting and of
/// systemd's MONOTONIC_USEC: read here and nowhere else, so every timestamp compares.
public enum MonotonicClock {
    /// Now, in nanoseconds since boot (excluding suspend). Inlined: producers read it per batch.
    @inlinable @inline(__always)
    public static func nanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    /// Now, in microseconds (`MONOTONIC_USEC` of sd_notify(3)).
    public static func microseconds() -> UInt64 { nanoseconds() / 1000 }
}
