import CSpanTapSys
import Dispatch
import Glibc
import SystemPackage

/// One accepted client: its socket, its read source and the bytes of a request not yet complete.
final class ControlConnection {
    let fd: Int32
    let peer: ControlPeer
    private var source: DispatchSourceRead?
    private var buffer: [UInt8] = []
    /// Closes the connection when it goes too long without a complete request.
    private var idleTimer: DispatchSourceTimer?
    /// Exempt from the idle timeout (an attached producer's connection).
    private(set) var isLongLived = false

    init(fd: Int32, peer: ControlPeer) {
        self.fd = fd
        self.peer = peer
    }

    /// Starts reading. The source is made here, never earlier: libdispatch traps if a source that
    /// was never activated is released.
    func activate(queue: DispatchQueue, readable: @escaping () -> Void) {
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        source.setEventHandler(handler: readable)
        source.setCancelHandler { [fd] in Glibc.close(fd) }
        self.source = source
        source.activate()
    }

    /// Stops reading and closes the socket (once the source has let go of it).
    func cancel() {
        idleTimer?.cancel()
        idleTimer = nil
        source?.cancel()
        source = nil
    }

    /// (Re)starts the idle deadline: `expired` runs on `queue` unless a request completes first.
    func armIdleTimer(seconds: Double, queue: DispatchQueue, expired: @escaping () -> Void) {
        idleTimer?.cancel()
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + seconds)
        timer.setEventHandler(handler: expired)
        idleTimer = timer
        timer.activate()
    }

    func disarmIdleTimer() {
        idleTimer?.cancel()
        idleTimer = nil
        isLongLived = true
    }

    var pendingBytes: Int { buffer.count }

    /// Reads what is available. False when the peer has closed or the socket failed.
    func receive() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n > 0 {
                buffer += chunk[..<n]
                if buffer.count > ControlCodec.maximumLineBytes { return true }
                continue
            }
            return n < 0 && (errno == EAGAIN || errno == EINTR)
        }
    }

    /// The next complete line, without its newline.
    func nextLine() -> ArraySlice<UInt8>? {
        guard let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let line = buffer[..<newline]
        buffer.removeSubrange(...newline)
        return line
    }

    @discardableResult
    func send(_ reply: ControlReply) -> Bool { sendReply(reply, on: fd) }
}

/// Sends one response line (with descriptors, if any) on a connected socket. False if the peer
/// cannot take it.
@discardableResult
func sendReply(_ reply: ControlReply, on fd: Int32) -> Bool {
    guard let line = try? ControlCodec.encodeLine(reply.response) else { return false }
    let descriptors = reply.descriptors.map(\.rawValue)
    let sent = line.withUnsafeBytes { bytes in
        descriptors.withUnsafeBufferPointer {
            spantap_send_fds(fd, bytes.baseAddress, bytes.count, $0.baseAddress, Int32($0.count))
        }
    }
    guard sent == line.count || (sent > 0 && descriptors.isEmpty) else { return false }
    return sent == line.count || writeRemainder(line[sent...], on: fd)
}

/// Responses are small; a client that does not read them within a blocking moment is dropped.
private func writeRemainder(_ rest: ArraySlice<UInt8>, on fd: Int32) -> Bool {
    var rest = rest
    while !rest.isEmpty {
        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&pfd, 1, 1000) > 0 else { return false }
        let n = rest.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard n > 0 else { return false }
        rest = rest.dropFirst(n)
    }
    return true
}
