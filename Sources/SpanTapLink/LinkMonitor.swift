import CLibMnl
import Dispatch
import Glibc
import Logging
import SpanTapSystem
import Synchronization
import SystemPackage

/// Follows links appearing, disappearing, being renamed and going up or down, through rtnetlink
/// notifications (RTMGRP_LINK) read by a DispatchSourceRead on `queue`.
///
/// `start()` subscribes first and only then dumps all links to seed the table: a link created
/// in between is then both in the dump and announced by a notification, never in neither.
/// Links present at start are not reported as events; `links` lists them. If the kernel drops
/// notifications (receive buffer overrun, ENOBUFS), the monitor dumps again and reports the
/// differences, so events may be coalesced but the table never stays wrong.
///
/// `handler` is called on `queue`, in order; `queue` should be serial.
public final class LinkMonitor: @unchecked Sendable {
    // @unchecked: `dump`, `isSeeded`, `nextSequence`, `pendingEvents` and `buffer` belong to the receiving
    // side, which runs inside start() until the read source exists and on `queue` afterwards,
    // never both; everything shared with other threads is in a Mutex.
    private let queue: DispatchQueue
    private let handler: @Sendable (LinkEvent) -> Void
    private let socket: MnlSocket
    private let table = Mutex(LinkTable())
    private let lifecycle = Mutex(Lifecycle.created)
    private let overrunCount = Atomic<Int>(0)
    private let logger = Logger(label: "spantap.link.monitor")

    private var dump: Dump?
    /// False until the first dump is complete: what existed before start() is not news.
    private var isSeeded = false
    private var nextSequence: UInt32 = 1
    private var pendingEvents: [LinkEvent] = []
    private let buffer: UnsafeMutableRawBufferPointer

    /// Large enough for any datagram the kernel sends us (it sizes dump replies up to 32 KiB
    /// when the reader's buffer allows, as libmnl's MNL_SOCKET_DUMP_SIZE assumes).
    private static let bufferSize = 32 * 1024
    /// How long start() waits for the seeding dump.
    private static let seedTimeoutMilliseconds: Int32 = 5_000

    private enum Lifecycle {
        case created
        case running(DispatchSourceRead)
        case cancelled
    }

    /// A RTM_GETLINK dump in progress.
    private struct Dump {
        let sequence: UInt32
        /// False for the seeding dump; later dumps (after an overrun) report what the lost
        /// notifications would have said.
        let reportsChanges: Bool
        /// Every ifindex mentioned during the dump (by the dump or by a notification).
        var seen: Set<Int32> = []
        /// Notifications were lost or the dump was interrupted: do another one afterwards.
        var repeatWhenDone = false
        /// The kernel refused this request (EBUSY) while it still ran a dump we abandoned: ask
        /// again once the socket is drained, which is when that dump has ended.
        var refusedAsBusy = false
    }

    /// - Parameter receiveBufferSize: SO_RCVBUF for the notification socket; nil keeps the
    ///   system default (net.core.rmem_default). Raise it on hosts where many links change at
    ///   once, to make overruns (and the re-dumps they cost) rarer.
    public init(
        queue: DispatchQueue, receiveBufferSize: Int? = nil, handler: @escaping @Sendable (LinkEvent) -> Void
    ) throws {
        self.queue = queue
        self.handler = handler
        self.socket = try MnlSocket(groups: UInt32(RTMGRP_LINK), receiveBufferSize: receiveBufferSize)
        self.buffer = .allocate(byteCount: Self.bufferSize, alignment: MemoryLayout<nlmsghdr>.alignment)
    }

    deinit {
        cancel()
        buffer.deallocate()
    }

    /// The links known right now, by ifindex.
    public var links: [LinkInfo] {
        table.withLock { Array($0.links.values) }.sorted { $0.ifindex < $1.ifindex }
    }

    /// How often the kernel dropped notifications for this monitor (each costs a full re-dump).
    /// Worth showing in status output: a steadily growing number means the buffer is too small.
    public var overruns: Int { overrunCount.load(ordering: .relaxed) }

    /// Seeds the table (synchronously: `links` is complete when this returns), then starts
    /// delivering events. Calling it again does nothing.
    public func start() throws {
        try lifecycle.withLock { state in
            guard case .created = state else { return }
            try requestDump()
            // Seeded once one dump is complete; one it asks to repeat goes on in the read source.
            while !isSeeded {
                var poller = pollfd(fd: socket.fileDescriptor, events: Int16(POLLIN), revents: 0)
                let ready = poll(&poller, 1, Self.seedTimeoutMilliseconds)
                if ready < 0 && Glibc.errno == EINTR { continue }
                guard ready > 0 else {
                    throw LinkError(
                        operation: "dump links", device: "",
                        errno: ready == 0 ? .timedOut : Errno.last,
                        message: ready == 0 ? "the kernel did not finish the link dump in time" : nil)
                }
                try receiveAvailable()
            }
            let source = DispatchSource.makeReadSource(fileDescriptor: socket.fileDescriptor, queue: queue)
            source.setEventHandler { [weak self] in
                guard let self else { return }
                do {
                    try self.receiveAvailable()
                } catch {
                    self.logger.error("reading link notifications failed: \(error)")
                }
            }
            // The socket must stay open until the source is cancelled; the handler owns it until then.
            let socket = self.socket
            source.setCancelHandler { withExtendedLifetime(socket) {} }
            source.resume()
            state = .running(source)
        }
    }

    /// Stops delivering events (a handler already queued may still run). Idempotent.
    public func cancel() {
        lifecycle.withLock { state in
            if case .running(let source) = state {
                source.cancel()
            }
            state = .cancelled
        }
    }

    // MARK: Receiving (start() or `queue`, see the class comment)

    /// Reads until the socket is empty, then hands the events collected to `queue`.
    private func receiveAvailable() throws {
        defer { deliverPendingEvents() }
        while true {
            switch socket.receive(into: buffer) {
            case .success(let length):
                try process(length)
            case .failure(.resourceTemporarilyUnavailable):
                if dump?.refusedAsBusy == true { try requestDump() }
                return
            case .failure(.interrupted):
                continue
            case .failure(.noBufferSpace), .failure(.noSpace):
                overrunCount.add(1, ordering: .relaxed)
                logger.warning("link notifications were lost (socket overrun); re-reading all links")
                if dump != nil {
                    dump?.repeatWhenDone = true
                } else {
                    try requestDump()
                }
            case .failure(let errno):
                throw LinkError(operation: "receive link notifications", device: "", errno: errno)
            }
        }
    }

    private func process(_ length: Int) throws {
        acceptInterruptedDump(length)
        let status = mnl_cb_run(
            buffer.baseAddress, length, dump?.sequence ?? 0, socket.portID,
            { header, context in
                guard let header, let context else { return MNL_CB_ERROR }
                Unmanaged<LinkMonitor>.fromOpaque(context).takeUnretainedValue().handle(header)
                return MNL_CB_OK
            },
            Unmanaged.passUnretained(self).toOpaque())
        if status == MNL_CB_STOP {
            try finishDump()  // NLMSG_DONE of our dump: only that makes mnl_cb_run stop
        } else if status == MNL_CB_ERROR {
            let errno = Errno.last
            // ESRCH: a reply for another port; EPROTO: a reply of a dump we abandoned (another
            // sequence number; its pieces keep coming after we asked for a new one). Nothing to
            // do with either.
            guard errno != .noSuchProcess, errno != Errno(rawValue: EPROTO) else { return }
            if errno == .resourceBusy, dump != nil {
                dump?.refusedAsBusy = true
                return
            }
            dump = nil
            throw LinkError(operation: "dump links", device: "", errno: errno)
        }
    }

    /// One RTM_NEWLINK / RTM_DELLINK, from a dump (our sequence number) or a notification (0).
    private func handle(_ header: UnsafePointer<nlmsghdr>) {
        let type = Int(header.pointee.nlmsg_type)
        guard type == RTM_NEWLINK || type == RTM_DELLINK, let link = LinkMessage.parse(header) else { return }
        if header.pointee.nlmsg_seq != 0, dump != nil {
            dump?.seen.insert(link.ifindex)
            let events = table.withLock { $0.update(link) }
            if dump?.reportsChanges == true { pendingEvents += events }
        } else if type == RTM_NEWLINK {
            dump?.seen.insert(link.ifindex)
            pendingEvents += table.withLock { $0.update(link) }
        } else {
            pendingEvents += table.withLock { $0.remove(link) }
        }
    }

    /// A message flagged NLM_F_DUMP_INTR says the link list changed while the kernel walked it.
    /// libmnl stops at the first one and drops the rest of the reply, so under steady churn every
    /// dump would be cut short and links late in the list never reported. What the messages say
    /// is still true: the flag is cleared, the dump read to its end and then done again.
    private func acceptInterruptedDump(_ length: Int) {
        var remaining = Int32(length)
        var header = buffer.baseAddress!.assumingMemoryBound(to: nlmsghdr.self)
        while mnl_nlmsg_ok(header, remaining) {
            if Int32(header.pointee.nlmsg_flags) & NLM_F_DUMP_INTR != 0 {
                header.pointee.nlmsg_flags &= ~UInt16(NLM_F_DUMP_INTR)
                if header.pointee.nlmsg_seq == dump?.sequence { dump?.repeatWhenDone = true }
            }
            header = mnl_nlmsg_next(header, &remaining)
        }
    }

    private func finishDump() throws {
        guard let finished = dump else { return }
        dump = nil
        isSeeded = true
        pendingEvents += table.withLock { $0.removeAll(notIn: finished.seen) }
        if finished.repeatWhenDone {
            logger.info("link dump was interrupted or notifications were lost during it; dumping again")
            try requestDump()
        }
    }

    private func requestDump() throws {
        let sequence = nextSequence
        nextSequence &+= 1
        var request = [UInt8](repeating: 0, count: 64)
        let failure: Errno? = request.withUnsafeMutableBytes { raw in
            let header = mnl_nlmsg_put_header(raw.baseAddress)!
            header.pointee.nlmsg_type = UInt16(RTM_GETLINK)
            header.pointee.nlmsg_flags = UInt16(NLM_F_REQUEST | NLM_F_DUMP)
            header.pointee.nlmsg_seq = sequence
            let ifi = mnl_nlmsg_put_extra_header(header, MemoryLayout<ifinfomsg>.size)!
            ifi.assumingMemoryBound(to: ifinfomsg.self).pointee.ifi_family = UInt8(AF_UNSPEC)
            return socket.send(UnsafeRawBufferPointer(start: header, count: Int(header.pointee.nlmsg_len)))
        }
        if let failure {
            throw LinkError(operation: "dump links", device: "", errno: failure)
        }
        dump = Dump(sequence: sequence, reportsChanges: isSeeded)
    }

    private func deliverPendingEvents() {
        guard !pendingEvents.isEmpty else { return }
        let events = pendingEvents
        pendingEvents = []
        let handler = self.handler
        queue.async {
            for event in events { handler(event) }
        }
    }
}
