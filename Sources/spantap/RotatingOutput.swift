import Glibc
import SpanTapCapture

/// Where `spantap capture` puts its pcapng: standard output, one file, or a file at a time as
/// `-C`/`-G`/`-W` say (CaptureFileRotation). Every file stands alone: the SHB and every IDB
/// first, one ISB per interface last, so each one opens in Wireshark without the others.
/// Blocks are buffered; `flush` writes them out.
struct RotatingOutput {
    private let path: String
    private var rotation: CaptureFileRotation?
    /// SHB and IDBs, the same at the top of every file so interface ids mean the same in all
    /// (an interface added mid-capture joins it for the files after its own).
    private var header: [UInt8]
    /// The ISBs at the end of a file, counted into its size so `-C` is a bound on the whole file.
    private var closingSize: UInt64
    private static let statisticsSize = UInt64(PcapngWriter().interfaceStatistics(interface: 0, .init(
        startTime: 0, endTime: 0, received: 0, dropped: 0, delivered: 0)).count)
    private var descriptor: Int32 = -1
    private(set) var name = ""
    private var buffer: [UInt8] = []
    /// The current file's bytes, written and buffered.
    private var fileSize: UInt64 = 0
    private var fileStart: UInt64 = 0
    /// Frames by pcapng interface id: in the current file, and in the files before it.
    private var inFile: [UInt64]
    private var inEarlierFiles: [UInt64]
    private(set) var filesOpened = 0
    /// Why the output stopped taking blocks (a full disk, a file that cannot be opened, the
    /// reader of `-w -` gone); nil while it takes them.
    private(set) var failure: String?

    var reachedFileLimit: Bool { rotation?.reachedFileLimit ?? false }

    init(path: String, rotation: CaptureFileRotation?, header: [UInt8], interfaces: Int) {
        self.path = path
        self.rotation = rotation
        self.header = header
        inFile = Array(repeating: 0, count: interfaces)
        inEarlierFiles = inFile
        closingSize = UInt64(interfaces) * Self.statisticsSize
        open(rotation?.currentName ?? path)
    }

    /// An interface announced mid-capture: its IDB goes into this file now (pcapng takes an IDB
    /// anywhere before the first packet naming it) and into the header of every later file.
    mutating func addInterface(_ description: [UInt8]) {
        header += description
        buffer += description
        fileSize += UInt64(description.count)
        closingSize += Self.statisticsSize
        inFile.append(0)
        inEarlierFiles.append(0)
    }

    mutating func write(_ block: [UInt8], interface: UInt32) {
        if var next = rotation {
            let step = next.beforeFrame(wouldHold: fileSize + UInt64(block.count) + closingSize,
                                        holdsFrames: inFile.contains { $0 > 0 }, now: time(nil))
            rotation = next
            if case .next(let name) = step { moveOn(to: name) }
        }
        buffer += block
        fileSize += UInt64(block.count)
        inFile[Int(interface)] += 1
        if buffer.count >= 1 << 16 { flush() }
    }

    /// Between frames, so `-G` moves on through a quiet interval.
    mutating func idle() {
        guard var next = rotation else { return }
        let step = next.idle(now: time(nil))
        rotation = next
        if case .next(let name) = step { moveOn(to: name) }
    }

    /// Closes the last file with spantapd's final counts per interface id (nil without them).
    /// Drops cannot be told apart by file, so this file's ISB carries all of them, and its
    /// `isb_ifrecv` is what was selected less what the earlier files hold: the ISBs of all the
    /// files add up to the capture's counts.
    mutating func finish(final: [(frames: UInt64, drops: UInt64)?]) {
        let earlier = inEarlierFiles
        close { id, frames in
            guard let counted = final[id] else { return (frames, 0) }
            return (counted.frames - min(counted.frames, earlier[id]), counted.drops)
        }
    }

    mutating func flush() {
        var offset = 0
        while offset < buffer.count, failure == nil {
            let n = buffer[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { fail("write") } else { offset += n }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// A file closed by rotation: its ISBs count the frames it holds; its drops are not known.
    private mutating func moveOn(to next: String) {
        close { _, frames in (frames, nil) }
        open(next)
    }

    private mutating func open(_ next: String) {
        name = next
        if path == "-" {
            descriptor = STDOUT_FILENO
        } else {
            descriptor = Glibc.open(next, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            if descriptor < 0 { return fail("open") }
        }
        filesOpened += 1
        fileStart = WallClock.now()
        buffer += header
        fileSize = UInt64(header.count)
        inFile = inFile.map { _ in 0 }
    }

    private mutating func close(counts: (Int, UInt64) -> (received: UInt64, dropped: UInt64?)) {
        let end = WallClock.now()
        for id in inFile.indices {
            let (received, dropped) = counts(id, inFile[id])
            buffer += PcapngWriter().interfaceStatistics(interface: UInt32(id), .init(
                startTime: fileStart, endTime: end, received: received, dropped: dropped, delivered: inFile[id]))
            inEarlierFiles[id] += inFile[id]
        }
        flush()
        if path != "-", descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    private mutating func fail(_ call: String) {
        guard failure == nil else { return }
        failure = "\(call) \(path == "-" ? "standard output" : name): \(String(cString: strerror(errno)))"
    }
}
