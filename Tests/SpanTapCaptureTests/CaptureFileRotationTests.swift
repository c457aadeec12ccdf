import SpanTapCapture
import Testing

/// The names and turns of `-C`/`-G`/`-W`. The expected names are what tcpdump 4.99.3 made from a
/// 3.5 MB file with `tcpdump -r in.pcap -w x -C 1` (x x1 x2 x3), `-C 1 -W 3` (y0 y1 y2, y0
/// rewritten), `-C 1 -W 10` (t0..t3), `-C 1 -W 11` (z00..z03), `-C 1 -W 1` (w, rewritten) and
/// `-C 1 -W 2 -G 5` (u0 u1).
@Suite struct CaptureFileRotationTests {
    static let limit: UInt64 = 1_000_000
    static let start = 1_751_328_000 // 2025-07-01 00:00:00 UTC: 2025 in every time zone

    /// The names `-C` moves through when every frame would take the file over the limit.
    static func sizeNames(_ rotation: CaptureFileRotation, turns: Int) -> [String] {
        var rotation = rotation
        var names = [rotation.currentName]
        for _ in 0..<turns {
            if case .next(let name) = rotation.beforeFrame(wouldHold: limit + 1, holdsFrames: true, now: start) {
                names.append(name)
            }
        }
        return names
    }

    static func sized(_ template: String, files: Int? = nil) -> CaptureFileRotation {
        CaptureFileRotation(template: template, sizeLimit: limit, interval: nil, fileLimit: files, now: start)
    }

    @Test func sizeAloneNumbersFromOneAfterAnUnnumberedFirstFile() {
        #expect(Self.sizeNames(Self.sized("x"), turns: 3) == ["x", "x1", "x2", "x3"])
    }

    @Test func sizeWithAFileLimitPadsToTheDigitsOfTheLimitLessOneAndRings() {
        #expect(Self.sizeNames(Self.sized("y", files: 3), turns: 4) == ["y0", "y1", "y2", "y0", "y1"])
        #expect(Self.sizeNames(Self.sized("t", files: 10), turns: 10) == ["t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", "t0"])
        #expect(Self.sizeNames(Self.sized("z", files: 11), turns: 3) == ["z00", "z01", "z02", "z03"])
        #expect(Self.sizeNames(Self.sized("w", files: 1), turns: 2) == ["w", "w", "w"])
    }

    @Test func aFileMovesOnOnlyWhenTheFrameWouldTakeItOverTheLimit() {
        var rotation = Self.sized("x")
        #expect(rotation.beforeFrame(wouldHold: Self.limit, holdsFrames: true, now: Self.start) == .stay)
        #expect(rotation.beforeFrame(wouldHold: Self.limit + 1, holdsFrames: true, now: Self.start) == .next("x1"))
        // An empty file takes even a frame larger than the limit, or no frame would ever be written.
        #expect(rotation.beforeFrame(wouldHold: Self.limit * 2, holdsFrames: false, now: Self.start) == .stay)
        #expect(rotation.idle(now: Self.start + 3600) == .stay, "without -G time moves nothing")
    }

    @Test func withoutIntervalsTheNameIsNotExpanded() {
        #expect(Self.sizeNames(Self.sized("cap-%Y"), turns: 1) == ["cap-%Y", "cap-%Y1"])
    }

    @Test func intervalsExpandTheNameAtTheirStartEvenWhenQuietAndAFileLimitStopsThem() {
        var rotation = CaptureFileRotation(template: "g-%Y-%s.pcapng", sizeLimit: nil, interval: 2, fileLimit: 3, now: Self.start)
        #expect(rotation.currentName == "g-2025-\(Self.start).pcapng")
        #expect(rotation.idle(now: Self.start + 1) == .stay)
        #expect(rotation.beforeFrame(wouldHold: .max, holdsFrames: true, now: Self.start + 1) == .stay, "no -C: size moves nothing")
        #expect(rotation.idle(now: Self.start + 2) == .next("g-2025-\(Self.start + 2).pcapng"))
        // The next interval starts when this one was left, as tcpdump's Gflag_time does.
        #expect(rotation.beforeFrame(wouldHold: 0, holdsFrames: false, now: Self.start + 5) == .next("g-2025-\(Self.start + 5).pcapng"))
        #expect(!rotation.reachedFileLimit)
        #expect(rotation.idle(now: Self.start + 7) == .stop)
        #expect(rotation.reachedFileLimit)
        // What is still queued after the stop goes into the last file.
        #expect(rotation.beforeFrame(wouldHold: 0, holdsFrames: true, now: Self.start + 60) == .stay)
        #expect(rotation.currentName == "g-2025-\(Self.start + 5).pcapng")
    }

    @Test func sizeAndIntervalNumberWithinEachIntervalAndTheFileLimitNeverStops() {
        var rotation = CaptureFileRotation(template: "u%%", sizeLimit: Self.limit, interval: 5, fileLimit: 2, now: Self.start)
        #expect(rotation.currentName == "u%0")
        #expect(rotation.beforeFrame(wouldHold: Self.limit + 1, holdsFrames: true, now: Self.start) == .next("u%1"))
        #expect(rotation.beforeFrame(wouldHold: Self.limit + 1, holdsFrames: true, now: Self.start) == .next("u%0"))
        #expect(rotation.beforeFrame(wouldHold: Self.limit + 1, holdsFrames: true, now: Self.start + 5) == .next("u%0"),
                "the clock first: a new interval, and its first file")
        for later in 1...3 { _ = rotation.idle(now: Self.start + 5 * later + 5) }
        #expect(!rotation.reachedFileLimit)
    }
}
