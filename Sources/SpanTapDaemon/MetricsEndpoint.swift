import Dispatch
import Glibc
import Logging

/// A deliberately small HTTP/1.1 responder for Prometheus scrapes: `GET /metrics` answers the
/// text exposition format, anything else 404, one request per connection. It binds to the
/// address given by `--metrics` only (127.0.0.1:9464 by convention), never to all interfaces
/// unless asked.
public final class MetricsEndpoint: @unchecked Sendable {
    private let queue: DispatchQueue
    private let body: () -> [UInt8]
    private var listener: DispatchSourceRead?

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
        guard bound == 0, listen(fd, 16) == 0 else {
            let error = errno
            close(fd)
            throw MetricsEndpointError.cannotListen(address, String(cString: strerror(error)))
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        source.setEventHandler { [unowned self] in self.serve(fd) }
        source.setCancelHandler { close(fd) }
        listener = source
        source.activate()
        return UInt16(bigEndian: socketAddress.sin_port)
    }

    public func stop() {
        listener?.cancel()
        listener = nil
    }

    private func serve(_ listenerFD: Int32) {
        while true {
            let client = accept(listenerFD, nil, nil)
            guard client >= 0 else { return }
            defer { close(client) }
            // A scrape request fits in one read; a client that sends nothing in 1 s is dropped.
            var timeout = timeval(tv_sec: 1, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var request = [UInt8](repeating: 0, count: 4096)
            let n = recv(client, &request, request.count, 0)
            guard n > 0 else { continue }
            let firstLine = String(decoding: request.prefix(n).prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }, as: UTF8.self)
            let isScrape = firstLine.hasPrefix("GET /metrics ") || firstLine == "GET /metrics"
            let payload = isScrape ? body() : Array("not found: try /metrics\n".utf8)
            let head = "HTTP/1.1 \(isScrape ? "200 OK" : "404 Not Found")\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                + "Content-Length: \(payload.count)\r\nConnection: close\r\n\r\n"
            let response = Array(head.utf8) + payload
            _ = response.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
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
