import Foundation
import SpanTapCapture
import SpanTapControl
import Synchronization

/// Set by SIGINT and SIGTERM: the capture ends and its file is closed properly.
private let stopRequested = Atomic<Bool>(false)

/// One running `spantap capture`: reads frame messages from spantapd's capture socket and writes
/// the pcapng file (SHB, an IDB per interface, an EPB per frame, an ISB per interface at the end).
/// Writes are buffered and flushed whenever the socket runs dry, so `-w -` streams live.
struct CaptureSession {
    let report: CaptureReport
    let socket: Int32
    let output: Int32
    let limit: UInt64?
    let deadline: Date?
    private var writer = PcapngWriter()
    private let clock = WallClock()
    private let startTime = WallClock.now()
    /// pcapng interface id by ifindex.
    private var interfaceIDs: [UInt32: UInt32] = [:]
    private var writtenPerInterface: [UInt32: UInt64] = [:]
    private var buffer: [UInt8] = []
    private(set) var written: UInt64 = 0
    /// The output refused a write (a full disk, or the reader of `-w -` went away).
    private(set) var outputFailed = false

    init(report: CaptureReport, socket: Int32, output: Int32, limit: UInt64?, deadline: Date?) {
        self.report = report
        self.socket = socket
        self.output = output
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
        buffer += writer.sectionHeader(userApplication: "spantap \(SpanTapVersion.current)")
        for interface in report.interfaces {
            let (id, block) = writer.interfaceDescription(
                name: interface.name, description: "spantap instance \(interface.instances.joined(separator: ", "))",
                snapLength: interface.snapLength)
            interfaceIDs[interface.ifindex] = id
            buffer += block
        }
        flush()
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
            guard waited > 0 else { continue }
            while !finished(self) {
                let received = message.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if received == 0 { return flush() } // spantapd closed it
                guard received > 0 else { break }
                message.withUnsafeBytes { record(UnsafeRawBufferPointer(rebasing: $0[..<received])) }
            }
            flush()
        }
        flush()
    }

    private var done: Bool {
        if let limit, written >= limit { return true }
        if let deadline, Date() >= deadline { return true }
        return stopRequested.load(ordering: .relaxed)
    }

    private mutating func record(_ message: UnsafeRawBufferPointer) {
        guard let header = CaptureMessage(decoding: message), let interface = interfaceIDs[header.ifindex] else { return }
        buffer += writer.enhancedPacket(interface: interface, timestamp: clock.wallTime(monotonic: header.timestampNanoseconds),
                                        direction: header.direction == 0 ? .inbound : .outbound,
                                        originalLength: header.originalLength,
                                        frame: UnsafeRawBufferPointer(rebasing: message[CaptureMessage.headerSize...]))
        written += 1
        writtenPerInterface[header.ifindex, default: 0] += 1
        if buffer.count >= 1 << 16 { flush() }
    }

    /// The ISBs: what spantapd selected for this capture and dropped on the way to it (its final
    /// counts; without them, only what this file holds), and what the file holds.
    mutating func finish(final: CaptureReport?) {
        let endTime = WallClock.now()
        for interface in report.interfaces {
            guard let id = interfaceIDs[interface.ifindex] else { continue }
            let counted = final?.interfaces.first { $0.ifindex == interface.ifindex }
            let delivered = writtenPerInterface[interface.ifindex] ?? 0
            buffer += writer.interfaceStatistics(interface: id, .init(
                startTime: startTime, endTime: endTime, received: counted?.frames ?? delivered,
                dropped: counted?.drops ?? 0, delivered: delivered))
        }
        flush()
    }

    private mutating func flush() {
        var offset = 0
        while offset < buffer.count, !outputFailed {
            let n = buffer[offset...].withUnsafeBytes { write(output, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { outputFailed = true } else { offset += n }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
