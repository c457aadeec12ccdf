import Foundation
import SpanTapCapture
import SpanTapControl
import Synchronization

/// Set by SIGINT and SIGTERM: the capture ends and its file is closed properly.
private let stopRequested = Atomic<Bool>(false)

/// One running `spantap capture`: reads frame messages from spantapd's capture socket and turns
/// them into pcapng blocks (an IDB per interface, an EPB per frame) for its RotatingOutput; an
/// interface spantapd announces mid-capture gets its IDB then, before its first frame.
/// The output is flushed whenever the socket runs dry, so `-w -` streams live.
struct CaptureSession {
    let report: CaptureReport
    let socket: Int32
    let limit: UInt64?
    let deadline: Date?
    private let clock = WallClock()
    private var writer: PcapngWriter
    /// pcapng interface id by ifindex: the report's interfaces, then those announced since.
    private var interfaceIDs: [UInt32: UInt32]
    private(set) var output: RotatingOutput
    private(set) var written: UInt64 = 0
    private var outputFailed: Bool { output.failure != nil }

    /// `path`: a file, or "-" for standard output; `rotation` for -C/-G/-W.
    init(report: CaptureReport, socket: Int32, path: String, rotation: CaptureFileRotation?, limit: UInt64?, deadline: Date?) {
        self.report = report
        self.socket = socket
        self.limit = limit
        self.deadline = deadline
        signal(SIGPIPE, SIG_IGN)
        signal(SIGINT) { _ in stopRequested.store(true, ordering: .relaxed) }
        signal(SIGTERM) { _ in stopRequested.store(true, ordering: .relaxed) }
        // A parent may hand down a mask with them blocked (posix_spawn keeps the caller's, and
        // Foundation's Process spawns from a thread that blocks most signals).
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGINT)
        sigaddset(&stopSignals, SIGTERM)
        sigprocmask(SIG_UNBLOCK, &stopSignals, nil)
        var writer = PcapngWriter(), ids: [UInt32: UInt32] = [:]
        var header = writer.sectionHeader(userApplication: "spantap \(SpanTapVersion.current)")
        for interface in report.interfaces { header += Self.describe(interface, writer: &writer, ids: &ids) }
        (self.writer, interfaceIDs) = (writer, ids)
        output = RotatingOutput(path: path, rotation: rotation, header: header, interfaces: writer.interfaceCount)
        output.flush()
    }

    /// The IDB of `interface`, which takes the next interface id.
    private static func describe(_ interface: CaptureReport.Interface, writer: inout PcapngWriter,
                                 ids: inout [UInt32: UInt32]) -> [UInt8] {
        let (id, block) = writer.interfaceDescription(
            name: interface.name, description: "spantap instance \(interface.instances.joined(separator: ", "))",
            snapLength: interface.snapLength)
        ids[interface.ifindex] = id
        return block
    }

    /// Until the count, the deadline, a signal, or the end of the socket (spantapd ended it).
    mutating func run() {
        receive { $0.done }
    }

    /// After `capture-stop`: spantapd has closed its end, so what is queued is all that is left;
    /// it goes into the file (up to the count), so the file holds every copy that was not dropped.
    mutating func drainQueued() {
        receive { session in session.limit.map { session.written >= $0 } ?? false }
    }

    private mutating func receive(until finished: (Self) -> Bool) {
        var message = [UInt8](repeating: 0, count: CaptureMessage.maximumSize)
        while !finished(self), !outputFailed {
            var ready = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let waited = poll(&ready, 1, 100)
            output.idle()
            guard waited > 0 else { continue }
            while !finished(self) {
                let received = message.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if received == 0 { return output.flush() } // spantapd closed it
                guard received > 0 else { break }
                message.withUnsafeBytes { record(UnsafeRawBufferPointer(rebasing: $0[..<received])) }
            }
            output.flush()
        }
        output.flush()
    }

    private var done: Bool {
        if let limit, written >= limit { return true }
        if let deadline, Date() >= deadline { return true }
        if output.reachedFileLimit { return true }
        return stopRequested.load(ordering: .relaxed)
    }

    private mutating func record(_ message: UnsafeRawBufferPointer) {
        guard let header = CaptureMessage(decoding: message) else { return }
        let body = UnsafeRawBufferPointer(rebasing: message[CaptureMessage.headerSize...])
        if header.ifindex == CaptureMessage.announcementIfindex {
            if let interface = try? ControlCodec.decode(CaptureReport.Interface.self, from: body),
               interfaceIDs[interface.ifindex] == nil {
                output.addInterface(Self.describe(interface, writer: &writer, ids: &interfaceIDs))
            }
            return
        }
        guard let interface = interfaceIDs[header.ifindex] else { return }
        output.write(writer.enhancedPacket(
            interface: interface, timestamp: clock.wallTime(monotonic: header.timestampNanoseconds),
            direction: header.direction == 0 ? .inbound : .outbound, originalLength: header.originalLength,
            frame: body), interface: interface)
        written += 1
    }

    /// The last file's ISBs: what spantapd selected for this capture and lost on the way to it
    /// (its final counts; without them, only what the files hold), and what the file holds. A
    /// clone the interface's ring dropped was received on the interface and lost for the
    /// capture, so it counts in both `isb_ifrecv` and `isb_ifdrop`.
    mutating func finish(final: CaptureReport?) {
        var counts = [(frames: UInt64, drops: UInt64)?](repeating: nil, count: writer.interfaceCount)
        for (ifindex, id) in interfaceIDs {
            counts[Int(id)] = final?.interfaces.first { $0.ifindex == ifindex }.map {
                ($0.frames &+ ($0.ringDrops ?? 0), $0.drops &+ ($0.ringDrops ?? 0))
            }
        }
        output.finish(final: counts)
    }
}
