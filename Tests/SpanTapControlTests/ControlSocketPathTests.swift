import Dispatch
import Foundation
import Glibc
import Logging
import SpanTapControl
import SpanTapTestSupport
import Testing

/// Where the control socket may be created, and what may be at its path before: nothing another
/// user planted is followed, removed or trusted.
@Suite struct ControlSocketPathTests {
    /// A fresh root-owned 0755 directory in /tmp (sticky, root's), removed with everything in it.
    final class Directory {
        let path = "/tmp/\(uniqueName("sd"))"
        var socket: String { path + "/spantapd.sock" }

        init(mode: mode_t = 0o755) throws {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            #expect(chmod(path, mode) == 0)
        }

        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    static func server(_ path: String) -> (ControlServer, DispatchQueue) {
        let queue = DispatchQueue(label: "test.socket-path")
        let server = ControlServer(path: path, queue: queue, logger: Logger(label: "test"),
                                   handler: { _, _ in ControlReply(ControlResponse(message: "here")) })
        return (server, queue)
    }

    /// Starts a server at `path`, expecting a refusal; returns its message.
    static func refusal(_ path: String) -> String {
        let (server, queue) = server(path)
        let error = #expect(throws: ControlSocketError.self) { try server.start() }
        if error == nil { queue.sync { server.stop() } }
        return error?.description ?? "started"
    }

    @Test func theSocketIsAnOwnerOnlySocketRightAfterStart() throws {
        let directory = try Directory()
        let (server, queue) = Self.server(directory.socket)
        try server.start()
        defer { queue.sync { server.stop() } }
        var info = stat()
        #expect(lstat(directory.socket, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o7777 == 0o600)
        #expect(info.st_uid == geteuid())
        #expect(try ControlClient(path: directory.socket).send(.status).0.message == "here")
    }

    @Test func aSymlinkAtThePathIsRefusedAndNotFollowed() throws {
        let directory = try Directory()
        let target = directory.path + "/target"
        try "keep me\n".write(toFile: target, atomically: false, encoding: .utf8)
        #expect(chmod(target, 0o644) == 0)
        #expect(symlink(target, directory.socket) == 0)

        let message = Self.refusal(directory.socket)
        #expect(message == "replace stale socket \(directory.socket): File exists (it is a symbolic link; spantapd replaces only its own stale socket and never follows links: remove it yourself, or use another --control-socket)")
        var info = stat()
        #expect(lstat(directory.socket, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK, "the symlink stays")
        #expect(stat(target, &info) == 0 && info.st_mode & 0o7777 == 0o644, "the target's mode is untouched")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "keep me\n")
    }

    @Test func aRegularFileAtThePathIsRefused() throws {
        let directory = try Directory()
        try "not a socket\n".write(toFile: directory.socket, atomically: false, encoding: .utf8)
        #expect(Self.refusal(directory.socket).contains("(it is a regular file; spantapd replaces only its own stale socket"))
        #expect(try String(contentsOfFile: directory.socket, encoding: .utf8) == "not a socket\n")
    }

    @Test func aWorldWritableDirectoryIsRefused() throws {
        let directory = try Directory(mode: 0o777)
        let message = Self.refusal(directory.socket)
        #expect(message == "use control socket directory \(directory.path): Operation not permitted (it is writable by group or others (mode 777) and is not a sticky directory owned by root, so another user could replace the socket \(directory.socket); use a root-owned directory such as /run/spantap)")
        #expect(access(directory.socket, F_OK) != 0, "no socket is created")
    }

    @Test func aWorldWritableAncestorIsRefused() throws {
        let outer = try Directory(mode: 0o777)
        let inner = outer.path + "/inner"
        #expect(mkdir(inner, 0o755) == 0)
        #expect(Self.refusal(inner + "/spantapd.sock").hasPrefix("use control socket directory \(outer.path): "))
    }

    @Test(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
    func aStickyRootOwnedDirectoryIsAllowed() throws {
        let directory = try Directory(mode: 0o1777)
        let (server, queue) = Self.server(directory.socket)
        try server.start()
        defer { queue.sync { server.stop() } }
        #expect(try ControlClient(path: directory.socket).send(.status).0.message == "here")
    }

    @Test(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
    func aDirectoryOwnedByAnotherUserIsRefused() throws {
        let directory = try Directory()
        #expect(chown(directory.path, 65534, 65534) == 0)
        #expect(Self.refusal(directory.socket).contains("(it is owned by uid 65534, so another user could replace the socket"))
    }

    @Test(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
    func aStaleSocketOfAnotherUserIsRefusedAndRootsIsReplaced() throws {
        let directory = try Directory()
        try Self.staleSocket(at: directory.socket)
        #expect(lchown(directory.socket, 65534, 65534) == 0)
        #expect(Self.refusal(directory.socket).contains("(it is a socket owned by uid 65534, not by root;"))
        var info = stat()
        #expect(lstat(directory.socket, &info) == 0 && info.st_uid == 65534, "another user's socket is left alone")

        #expect(lchown(directory.socket, 0, 0) == 0)
        let (server, queue) = Self.server(directory.socket)
        try server.start()
        defer { queue.sync { server.stop() } }
        // The stale one is 0644, the server's own 0600.
        #expect(lstat(directory.socket, &info) == 0 && info.st_mode & 0o7777 == 0o600, "root's stale socket is replaced")
        #expect(try ControlClient(path: directory.socket).send(.status).0.message == "here")
    }

    /// A socket file nobody listens on (what a crashed daemon leaves), mode 0644.
    static func staleSocket(at path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
        try #require(chmod(path, 0o644) == 0)
    }
}
