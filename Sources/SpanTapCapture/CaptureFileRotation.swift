import Glibc

/// tcpdump's `-C`, `-G` and `-W` for `spantap capture -w FILE`: when the capture moves on to its
/// next file, what that file is called, and when `-G -W` has made all its files. No I/O, so the
/// names and decisions can be checked against tcpdump's without a capture.
///
/// The names are tcpdump 4.99's (MakeFilename in tcpdump.c), so scripts written for tcpdump's
/// files find these: with `-G`, FILE is expanded by strftime(3) at the local time the current
/// `-G` interval began; with `-C`, the count is appended (none on the first file), zero-padded
/// to the digits of `-W` - 1 when `-W` is given (then the first file has one too: FILE0, or
/// FILE00 for `-W 11`), and wraps to 0 after `-W` files.
public struct CaptureFileRotation: Sendable {
    public let template: String
    /// `-C` in bytes (MEGABYTES x 1,000,000).
    public let sizeLimit: UInt64?
    /// `-G` in seconds.
    public let interval: Int?
    /// `-W`.
    public let fileLimit: Int?
    /// Width of the `-C` count.
    private let digits: Int
    /// tcpdump's Cflag_count: files begun by `-C` in this `-G` interval (wrapped at `-W`).
    private var sizeCount = 0
    /// tcpdump's Gflag_count: intervals `-G` has ended.
    private var intervalsEnded = 0
    /// tcpdump's Gflag_time: when the current `-G` interval began, whole seconds since the epoch.
    public private(set) var intervalStart: Int
    /// `-G -W` (without `-C`) has ended its last interval: the capture stops, and what is still
    /// queued for it goes into the current file, which is not left.
    public private(set) var reachedFileLimit = false

    public enum Step: Equatable, Sendable {
        /// Keep writing into the current file.
        case stay
        /// Close the current file and open this one.
        case next(String)
        /// `-G -W` made its last file: stop capturing.
        case stop
    }

    /// `now`: seconds since the epoch, as time(2) says.
    public init(template: String, sizeLimit: UInt64?, interval: Int?, fileLimit: Int?, now: Int) {
        self.template = template
        self.sizeLimit = sizeLimit
        self.interval = interval
        self.fileLimit = fileLimit
        intervalStart = now
        // tcpdump's getWflagChars: digits of fileLimit - 1, used only with -C.
        var width = 0, rest = (fileLimit ?? 0) - 1
        while sizeLimit != nil, rest > 0 { width += 1; rest /= 10 }
        digits = width
    }

    /// The file being written now.
    public var currentName: String {
        let base = interval == nil ? template : Self.expand(template, at: intervalStart)
        guard sizeCount != 0 || digits != 0 else { return base }
        let count = String(sizeCount)
        return base + String(repeating: "0", count: max(0, digits - count.count)) + count
    }

    /// Before a frame: `wouldHold` is the size the current file would have with the frame and its
    /// closing blocks. Like tcpdump, the clock is asked before the size. A file that holds no frame
    /// yet takes the frame whatever its size, so a limit smaller than one frame still moves on.
    public mutating func beforeFrame(wouldHold: UInt64, holdsFrames: Bool, now: Int) -> Step {
        let step = clock(now: now)
        guard step == .stay, !reachedFileLimit, let sizeLimit, holdsFrames, wouldHold > sizeLimit else { return step }
        sizeCount += 1
        if let fileLimit, sizeCount >= fileLimit { sizeCount = 0 }
        return .next(currentName)
    }

    /// While no frame comes: `-G` moves on at its time even through a quiet interval (tcpdump
    /// waits for the next packet; its man page says every SECONDS, and `-G -W` then ends on time).
    public mutating func idle(now: Int) -> Step { clock(now: now) }

    private mutating func clock(now: Int) -> Step {
        guard !reachedFileLimit, let interval, now - intervalStart >= interval else { return .stay }
        intervalsEnded += 1
        if sizeLimit == nil, let fileLimit, intervalsEnded >= fileLimit {
            reachedFileLimit = true
            return .stop
        }
        intervalStart = now
        sizeCount = 0
        return .next(currentName)
    }

    /// strftime(3) at local time `seconds`. The buffer is far larger than any conversion makes
    /// the name, so 0 means an empty expansion, which open(2) then refuses.
    public static func expand(_ template: String, at seconds: Int) -> String {
        var time = time_t(seconds), local = tm()
        tzset()
        localtime_r(&time, &local)
        var name = [CChar](repeating: 0, count: template.utf8.count * 64 + 256)
        let length = strftime(&name, name.count, template, &local)
        return String(decoding: name[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
