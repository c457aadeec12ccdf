import Glibc

/// Turns record timestamps (CLOCK_MONOTONIC) into wall-clock time for pcapng: one offset,
/// CLOCK_REALTIME - CLOCK_MONOTONIC, sampled when the capture starts and applied to every frame.
///
/// Error bound: the offset is read between two monotonic reads, so it is off by at most the time
/// between them (`uncertainty`, typically well under a microsecond), plus however far the wall
/// clock is stepped or slewed (NTP) during the capture, since a fixed offset does not follow it.
/// Frames keep their exact monotonic spacing.
public struct WallClock: Sendable {
    /// Nanoseconds to add to a CLOCK_MONOTONIC reading to get nanoseconds since the Unix epoch.
    public let offset: Int64
    /// How far `offset` may be off at the moment it was sampled, in nanoseconds.
    public let uncertainty: UInt64

    public init() {
        // The tightest of a few brackets, so one preemption between the reads does not count.
        var best: (offset: Int64, width: UInt64) = (0, .max)
        for _ in 0..<5 {
            let before = Self.read(CLOCK_MONOTONIC)
            let real = Self.read(CLOCK_REALTIME)
            let after = Self.read(CLOCK_MONOTONIC)
            let width = after - before
            if width < best.width {
                best = (Int64(bitPattern: real) - Int64(bitPattern: before + width / 2), width)
            }
        }
        offset = best.offset
        uncertainty = best.width / 2 + 1
    }

    /// Nanoseconds since the Unix epoch for a CLOCK_MONOTONIC reading; 0 (unstamped) is taken as now.
    public func wallTime(monotonic: UInt64) -> UInt64 {
        let stamp = monotonic == 0 ? Self.read(CLOCK_MONOTONIC) : monotonic
        return UInt64(bitPattern: Int64(bitPattern: stamp) &+ offset)
    }

    /// The wall clock now, in nanoseconds since the Unix epoch.
    public static func now() -> UInt64 { read(CLOCK_REALTIME) }

    private static func read(_ clock: clockid_t) -> UInt64 {
        var time = timespec()
        clock_gettime(clock, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
