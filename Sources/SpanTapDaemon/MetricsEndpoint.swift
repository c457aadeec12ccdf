import Dispatch
import Glibc
import Logging
import SpanTapSystem
import SystemPackage

/// A deliberately small HTTP/1.1 responder for Prometheus scrapes: `GET /metrics` answers the
/// text exposition format, anything else 404, one request per connection. It binds to the
/// address given by `--metrics` only (127.0.0.1:9464 by convention), never to all interfaces
/// unless asked.
///
/// Every connection is non-blocking with its own read source and a deadline, so a client that
/// connects and sends nothing (or dribbles) delays nobody else's scrape. At most
/// `maximumClients` are open at once: at the cap, the oldest one still waiting for its request
/// is closed at once to make room, so idle connections cannot lock a real scraper out.
// @unchecked: the listener and client list are touched only on the endpoint's serial queue.
public final class MetricsEndpoint: @unchecked Sendable {
    public static let maximumClients = 16
    /// Time a client has to send its request and take the answer.
    public static let clientTimeout: DispatchTimeInterval = .seconds(1)
    private let queue: DispatchQueue
    private let body: () -> [UInt8]
    private var listener: DispatchSourceRead?
    private var clients: [Int32: MetricsClient] = [:]
    private var accepted = 0

    /// `body` runs on `queue` for every scrape.
    public init(queue: DispatchQueue, body: @escaping () -> [UInt8]) {
        self.queue = queue
        self.body = body
    }

    /// `address` is `IPV4:PORT`, e.g. `127.0.0.1:9464`.
    public func start(address: String) throws -> UInt16 {
        let parts = address.split(separator: ":")
        var ip = in_addr()
        guard parts.count == 2, let port = UInt16(parts[1]), inet_pton(AF_INET, String(parts[0]), &ip) == 1 else {
            throw MetricsEndpointError.badAddress(address)
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var socketAddress = sockaddr_in(sin_family: sa_family_t(AF_INET), sin_port: port.bigEndian, sin_addr: ip, sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            let error = Errno.last
            close(fd)
            throw MetricsEndpointError.cannotListen(address, "\(error)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        source.setEventHandler { [unowned self] in self.acceptAll(fd) }
        source.setCancelHandler { close(fd) }
        listener = source
        source.activate()
        return UInt16(bigEndian: socketAddress.sin_port)
    }

    public func stop() {
        queue.sync {
            listener?.cancel()
            listener = nil
            clients.values.forEach { $0.close() }
        }
    }

    private func acceptAll(_ listenerFD: Int32) {
        while true {
            let fd = accept(listenerFD, nil, nil)
            guard fd >= 0 else { return }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            if clients.count >= Self.maximumClients {
                guard let oldest = clients.values.filter(\.isReading).min(by: { $0.sequence < $1.sequence }) else {
                    Glibc.close(fd)  // all busy answering: the newcomer waits for the next scrape
                    continue
                }
                oldest.close()
            }
            accepted += 1
            let client = MetricsClient(fd: fd, sequence: accepted, queue: queue, respond: { [unowned self] in self.response(to: $0) },
                                       closed: { [unowned self] in self.clients[$0] = nil })
            clients[fd] = client
            client.start(deadline: .now() + Self.clientTimeout)
        }
    }

    private func response(to requestLine: String) -> [UInt8] {
        let isScrape = requestLine.hasPrefix("GET /metrics ") || requestLine == "GET /metrics"
        let payload = isScrape ? body() : Array("not found: try /metrics\n".utf8)
        let head = "HTTP/1.1 \(isScrape ? "200 OK" : "404 Not Found")\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            + "Content-Length: \(payload.count)\r\nConnection: close\r\n\r\n"
        return Array(head.utf8) + payload
    }
}

/// One scrape connection: reads until the request line is complete, then writes the answer as
/// the socket takes it. Closed when done, on error, or at its deadline, whichever comes first.
private final class MetricsClient: @unchecked Sendable {  // confined to the endpoint queue
    private static let maximumRequest = 4096
    let fd: Int32
    /// Accept order, to find the oldest.
    let sequence: Int
    private let queue: DispatchQueue
    private let respond: (String) -> [UInt8]
    private let closed: (Int32) -> Void
    private var request: [UInt8] = []
    private var pending: ArraySlice<UInt8> = []
    private var reader: DispatchSourceRead?
    private var writer: DispatchSourceWrite?
    private var isClosed = false
    private var liveSources = 0

    /// Still waiting for (the rest of) its request.
    var isReading: Bool { reader != nil }

    init(fd: Int32, sequence: Int, queue: DispatchQueue, respond: @escaping (String) -> [UInt8], closed: @escaping (Int32) -> Void) {
        self.fd = fd
        self.sequence = sequence
        self.queue = queue
        self.respond = respond
        self.closed = closed
    }

    func start(deadline: DispatchTime) {
        let reader = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        self.reader = reader
        watch(reader) { self.readAvailable() }
        // The timer holds the client alive until its deadline; closing earlier makes it a no-op.
        queue.asyncAfter(deadline: deadline) { self.close() }
    }

    private func readAvailable() {
        var chunk = [UInt8](repeating: 0, count: Self.maximumRequest)
        let n = recv(fd, &chunk, chunk.count, 0)
        if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
        guard n > 0 else { return close() }
        request += chunk.prefix(n)
        // Answer once the headers are complete: closing with unread request bytes would make the
        // kernel reset the connection, and the client could lose the answer.
        let text = String(decoding: request.filter { $0 != UInt8(ascii: "\r") }, as: UTF8.self)
        guard text.contains("\n\n") else {
            if request.count >= Self.maximumRequest { close() }
            return
        }
        let line = String(text.prefix { $0 != "\n" })
        reader?.cancel()
        reader = nil
        pending = respond(line)[...]
        let writer = DispatchSource.makeWriteSource(fileDescriptor: fd, queue: queue)
        self.writer = writer
        watch(writer) { self.writeAvailable() }
    }

    private func writeAvailable() {
        let n = pending.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
        guard n > 0 else { return close() }
        pending = pending.dropFirst(n)
        if pending.isEmpty { close() }
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        reader?.cancel()
        writer?.cancel()
        reader = nil
        writer = nil
        closeWhenUnwatched()
        closed(fd)
    }

    private func watch(_ source: DispatchSourceProtocol, _ handler: @escaping () -> Void) {
        liveSources += 1
        source.setEventHandler(handler: handler)
        source.setCancelHandler {
            self.liveSources -= 1
            self.closeWhenUnwatched()
        }
        source.activate()
    }

    /// The fd is closed only after every source on it is cancelled: Dispatch must never watch a
    /// descriptor number the kernel has already handed to someone else.
    private func closeWhenUnwatched() {
        if isClosed && liveSources == 0 { Glibc.close(fd) }
    }
}

public enum MetricsEndpointError: Error, CustomStringConvertible {
    case badAddress(String)
    case cannotListen(String, String)

    public var description: String {
        switch self {
        case .badAddress(let address): "--metrics wants IPV4:PORT (e.g. 127.0.0.1:9464), not '\(address)'"
        case .cannotListen(let address, let reason): "cannot serve metrics on \(address): \(reason)"
        }
    }
}
