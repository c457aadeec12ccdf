import CSpanTapSys
import Dispatch
import Glibc
import Logging
import SpanTapSystem
import SystemPackage

/// Who is on the other end of a control connection (from SO_PEERCRED, not from anything it says).
public struct ControlPeer: Sendable, Hashable {
    /// Unique per connection for the daemon's lifetime; ties an attached producer to its socket.
    public let connection: Int
    public let uid: UInt32
    public let pid: Int32
    /// Root (or spantapd's own user): may ask for anything. Otherwise a member of the monitoring
    /// group (`ControlLimits.monitorGroup`), who may only watch: status and capture.
    public let mayControl: Bool
}

/// A response plus descriptors to pass with it (SCM_RIGHTS), e.g. a ring's memfd and eventfd.
public struct ControlReply {
    public var response: ControlResponse
    public var descriptors: [FileDescriptor]
    /// The connection now has a long-lived role (an attached producer lives as long as it): it is
    /// exempt from the idle timeout from here on.
    public var holdsConnection: Bool
    /// The descriptors are the client's alone (a capture socket's far end): the server closes its
    /// copies once the reply is sent, or not.
    public var closingDescriptors: Bool

    public init(_ response: ControlResponse, descriptors: [FileDescriptor] = [], holdsConnection: Bool = false,
                closingDescriptors: Bool = false) {
        self.response = response
        self.descriptors = descriptors
        self.holdsConnection = holdsConnection
        self.closingDescriptors = closingDescriptors
    }
}

/// What one client may make the control server hold.
public struct ControlLimits: Sendable {
    /// Connections open at once; more are answered with an error and closed (`--max-control-connections`).
    public var maximumConnections: Int
    /// Seconds a connection may go without completing a request (a half-sent one, or none at all)
    /// before it is closed; attached producers are exempt (`--control-idle-timeout`).
    public var idleTimeout: Double
    /// A group whose members may connect to watch (status, capture) without being root
    /// (`--control-group`): the socket is then mode 0660 and of that group. nil: root only, 0600.
    public var monitorGroup: UInt32?

    public init(maximumConnections: Int = 64, idleTimeout: Double = 10, monitorGroup: UInt32? = nil) {
        self.maximumConnections = maximumConnections
        self.idleTimeout = idleTimeout
        self.monitorGroup = monitorGroup
    }
}

/// spantapd's control socket: a unix stream socket, mode 0600, that serves root only; with a
/// monitoring group, mode 0660 of that group, and its members may connect too (`ControlPeer.mayControl`
/// false: what they may ask is the handler's to decide).
///
/// Requests are JSON lines of at most `ControlCodec.maximumLineBytes`. A malformed or unknown
/// request gets an error response and the connection stays usable; an oversized one, or a peer
/// that is neither root nor in the monitoring group, gets an error response and is disconnected. Nothing a client sends can stop
/// the server. A client can hold at most one of `limits.maximumConnections` slots, and only for
/// `limits.idleTimeout` seconds between complete requests unless it becomes a producer.
/// Everything runs on `queue`, the same queue the handler's state lives on.
// @unchecked: its connections and listening source are touched only on `queue`.
public final class ControlServer: @unchecked Sendable {
    public typealias Handler = (ControlRequest, ControlPeer) -> ControlReply

    public let path: String
    public let limits: ControlLimits
    private let queue: DispatchQueue
    private let logger: Logger
    private let handler: Handler
    private let disconnected: (ControlPeer) -> Void
    private var listener: DispatchSourceRead?
    private var connections: [Int: ControlConnection] = [:]
    private var nextConnection = 1
    /// Set while connections are refused for the limit, so a flood logs one line, not one per try.
    private var refusingConnections = false

    /// Connections open now.
    public var connectionCount: Int { connections.count }

    /// `disconnected` runs on `queue` when a client goes away (closed, crashed, or refused).
    public init(path: String, limits: ControlLimits = ControlLimits(), queue: DispatchQueue, logger: Logger,
                handler: @escaping Handler, disconnected: @escaping (ControlPeer) -> Void = { _ in }) {
        self.path = path
        self.limits = limits
        self.queue = queue
        self.logger = logger
        self.handler = handler
        self.disconnected = disconnected
    }

    /// Binds and listens. Refuses a directory other users could write (see `SocketDirectory`).
    /// A stale socket file (no one listening) is replaced; a live one means another spantapd
    /// runs, and is an error.
    public func start() throws(ControlSocketError) {
        let address = try UnixSocketAddress(path: path)
        try SocketDirectory.check(socketPath: path)
        try removeStaleSocket(address)
        let fd = try makeUnixStreamSocket(path: path)
        // bind creates the file with the socket inode's mode (less the umask): setting 0600 on
        // the fd first means the file is never more open than that. A monitoring group's
        // 0660 and group can only be set on the path: the directory is one only root can change
        // (checked above), so the file bind just made is still ours to change, and it is before
        // listen, so no connection comes in meanwhile. Peer credentials are checked on every
        // connection regardless.
        guard fchmod(fd, 0o600) == 0, address.withSockaddr({ bind(fd, $0, $1) }) == 0,
              limits.monitorGroup.map({ lchown(path, uid_t.max, $0) == 0 && chmod(path, 0o660) == 0 }) ?? true,
              listen(fd, 16) == 0 else {
            let error = Errno.last
            Glibc.close(fd)
            unlink(path)
            throw ControlSocketError(operation: "listen on", path: path, errno: error)
        }
        _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        source.setEventHandler { [unowned self] in self.acceptConnections(fd) }
        source.setCancelHandler { Glibc.close(fd) }
        listener = source
        source.activate()
    }

    /// Closes the listener and every connection, and removes the socket file.
    public func stop() {
        dispatchPrecondition(condition: .onQueue(queue))
        listener?.cancel()
        listener = nil
        for connection in connections.values { close(connection) }
        unlink(path)
    }

    /// Removes a crashed daemon's socket so bind can make a new one. Judged by lstat, so nothing
    /// is followed: only a socket owned by root (or this daemon's user) is removed; a symlink, a
    /// file or another user's socket at the path is refused and left as it is.
    private func removeStaleSocket(_ address: UnixSocketAddress) throws(ControlSocketError) {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            let error = Errno.last
            guard error == .noSuchFileOrDirectory else { throw ControlSocketError(operation: "inspect", path: path, errno: error) }
            return
        }
        func refuse(_ what: String) -> ControlSocketError {
            ControlSocketError(operation: "replace stale socket", path: path, errno: .fileExists,
                               hint: "\(what); spantapd replaces only its own stale socket and never follows links: "
                                   + "remove it yourself, or use another --control-socket")
        }
        switch info.st_mode & S_IFMT {
        case S_IFSOCK:
            guard info.st_uid == 0 || info.st_uid == geteuid() else { throw refuse("it is a socket owned by uid \(info.st_uid), not by root") }
        case S_IFLNK: throw refuse("it is a symbolic link")
        case S_IFREG: throw refuse("it is a regular file")
        case S_IFDIR: throw refuse("it is a directory")
        default: throw refuse("it is not a socket")
        }
        let probe = try makeUnixStreamSocket(path: path)
        defer { Glibc.close(probe) }
        if address.withSockaddr({ connect(probe, $0, $1) }) == 0 {
            throw ControlSocketError(operation: "listen on", path: path, errno: .addressInUse,
                                     hint: "another spantapd is running; stop it or use --control-socket")
        }
        unlink(path)
    }

    private func acceptConnections(_ listenerFD: Int32) {
        while true {
            let fd = accept(listenerFD, nil, nil)
            guard fd >= 0 else { return }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
            var uid: UInt32 = 0, pid: Int32 = 0
            guard spantap_peer_credentials(fd, &uid, &pid) == 0 else {
                Glibc.close(fd)
                continue
            }
            let mayControl = uid == 0 || uid == geteuid()
            let peer = ControlPeer(connection: nextConnection, uid: uid, pid: pid, mayControl: mayControl)
            nextConnection += 1
            guard mayControl || limits.monitorGroup.map({ spantap_peer_in_group(fd, $0) == 1 }) == true else {
                logger.warning("control connection refused", metadata: ["uid": "\(uid)", "pid": "\(pid)"])
                let who = limits.monitorGroup.map { "root and members of group \(Self.groupName($0))" } ?? "root only"
                sendReply(ControlReply(.failure("permission denied: spantapd takes control requests from \(who) (your uid is \(uid))")), on: fd)
                Glibc.close(fd)
                continue
            }
            guard connections.count < limits.maximumConnections else {
                refuse(fd, "too many control connections: \(connections.count) open, the limit is \(limits.maximumConnections) (spantapd --max-control-connections)")
                continue
            }
            refusingConnections = false
            let connection = ControlConnection(fd: fd, peer: peer)
            connections[peer.connection] = connection
            connection.activate(queue: queue) { [unowned self, unowned connection] in self.readable(connection) }
            armIdleTimer(connection)
        }
    }

    /// `spantap` (gid 998), or the number alone for a group the system does not name.
    private static func groupName(_ gid: UInt32) -> String {
        guard let entry = getgrgid(gid), let name = entry.pointee.gr_name else { return "gid \(gid)" }
        return "\(String(cString: name)) (gid \(gid))"
    }

    private func refuse(_ fd: Int32, _ reason: String) {
        if !refusingConnections {
            logger.warning("control connections refused until some close", metadata: ["reason": "\(reason)"])
            refusingConnections = true
        }
        sendReply(ControlReply(.failure(reason)), on: fd)
        Glibc.close(fd)
    }

    private func armIdleTimer(_ connection: ControlConnection) {
        connection.armIdleTimer(seconds: limits.idleTimeout, queue: queue) { [weak self, weak connection] in
            guard let self, let connection else { return }
            self.logger.debug("control connection idle; closed", metadata: ["pid": "\(connection.peer.pid)"])
            self.close(connection)
        }
    }

    /// Closes connection `id` (e.g. a quarantined producer's); `disconnected` runs as for any close.
    public func close(connection id: Int) {
        dispatchPrecondition(condition: .onQueue(queue))
        if let connection = connections[id] { close(connection) }
    }

    private func readable(_ connection: ControlConnection) {
        guard connection.receive() else {
            close(connection)
            return
        }
        while let line = connection.nextLine() {
            let reply: ControlReply
            do {
                reply = handler(try ControlCodec.decode(ControlRequest.self, from: line), connection.peer)
            } catch {
                reply = ControlReply(.failure("bad request: \(ControlCodec.describe(error))"))
            }
            let sent = connection.send(reply)
            if reply.closingDescriptors {
                for descriptor in reply.descriptors { try? descriptor.close() }
            }
            guard sent else {
                close(connection)
                return
            }
            if reply.holdsConnection {
                connection.disarmIdleTimer()
            } else if !connection.isLongLived {
                armIdleTimer(connection)
            }
        }
        if connection.pendingBytes > ControlCodec.maximumLineBytes {
            connection.send(ControlReply(.failure("request too large: more than \(ControlCodec.maximumLineBytes) bytes without a newline")))
            close(connection)
        }
    }

    private func close(_ connection: ControlConnection) {
        guard connections.removeValue(forKey: connection.peer.connection) != nil else { return }
        connection.cancel()
        disconnected(connection.peer)
    }
}
