import Dispatch
import Foundation
import Glibc
import Logging
import SpanTapControl
import SpanTapRing
import SpanTapTestSupport
import SystemPackage
import Testing

/// The control socket against real clients: well-formed, malformed, oversized, unauthorized.
@Suite struct ControlServerTests {
    /// A server on a unique path whose handler answers `status` and hands out two descriptors
    /// for `attach-producer`; records disconnects.
    // @unchecked: `disconnects` is appended on `queue` only and read after `queue.sync`.
    final class Lab: @unchecked Sendable {
        let path = "/tmp/\(uniqueName("ctl")).sock"
        let queue = DispatchQueue(label: "test.control")
        let server: ControlServer
        private(set) var disconnects: [ControlPeer] = []

        init() throws {
            var disconnected: (ControlPeer) -> Void = { _ in }
            server = ControlServer(path: path, queue: queue, logger: Logger(label: "test"), handler: { request, peer in
                switch request {
                case .status:
                    return ControlReply(ControlResponse(status: StatusReport(producers: [
                        .init(name: "peer", pid: peer.pid, slotCount: 0, mirror: MirrorCounters())])))
                case .attachProducer(let attach):
                    let memfd = FileDescriptor(rawValue: open("/dev/null", O_RDONLY))
                    let second = FileDescriptor(rawValue: open("/dev/zero", O_RDONLY))
                    return ControlReply(ControlResponse(message: attach.name), descriptors: [memfd, second])
                default:
                    return ControlReply(.failure("not in this test"))
                }
            }, disconnected: { disconnected($0) })
            disconnected = { [unowned self] in self.disconnects.append($0) }
            try server.start()
        }

        func stop() { queue.sync { server.stop() } }
    }

    @Test func statusRoundTripCarriesPeerCredentials() throws {
        let lab = try Lab()
        defer { lab.stop() }
        var info = stat()
        #expect(stat(lab.path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        let client = try ControlClient(path: lab.path)
        let (response, descriptors) = try client.send(.status)
        #expect(response.ok)
        #expect(descriptors.isEmpty)
        #expect(response.status?.producers.first?.pid == getpid())
    }

    @Test func malformedAndUnknownRequestsGetErrorsAndTheConnectionLives() throws {
        let lab = try Lab()
        defer { lab.stop() }
        let client = try ControlClient(path: lab.path)
        try client.sendRaw(Array("{not json\n".utf8))
        let (broken, _) = try client.receiveResponse()
        #expect(broken.ok == false)
        #expect(broken.error?.hasPrefix("bad request:") == true)

        try client.sendRaw(Array("{\"command\":\"launch\"}\n".utf8))
        let (unknown, _) = try client.receiveResponse()
        #expect(unknown.error?.contains("unknown command 'launch'") == true)

        try client.sendRaw(Array("{\"command\":\"apply\"}\n".utf8))
        let (missing, _) = try client.receiveResponse()
        #expect(missing.error == "bad request: missing field 'snapshot'")

        let (status, _) = try client.send(.status)
        #expect(status.ok)
    }

    @Test func oversizedRequestIsRefusedAndDisconnected() throws {
        let lab = try Lab()
        defer { lab.stop() }
        let client = try ControlClient(path: lab.path)
        try? client.sendRaw([UInt8](repeating: UInt8(ascii: "a"), count: ControlCodec.maximumLineBytes + 100))
        let (response, _) = try client.receiveResponse()
        #expect(response.error?.hasPrefix("request too large") == true)
        #expect(throws: ControlSocketError.self) { try client.receiveResponse() }
        #expect(waitUntil { lab.queue.sync { lab.disconnects.count == 1 } })
        // The server still serves others.
        #expect(try ControlClient(path: lab.path).send(.status).0.ok)
    }

    @Test func descriptorsTravelWithTheReplyAndDisconnectIsReported() throws {
        let lab = try Lab()
        defer { lab.stop() }
        var client: ControlClient? = try ControlClient(path: lab.path)
        let (response, descriptors) = try client!.send(.attachProducer(AttachProducer(name: "ext0", slotCount: 64)))
        #expect(response.message == "ext0")
        #expect(descriptors.count == 2)
        for descriptor in descriptors {
            var info = stat()
            #expect(fstat(descriptor.rawValue, &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFCHR)
            try descriptor.close()
        }
        client = nil
        #expect(waitUntil { lab.queue.sync { lab.disconnects.map(\.pid) == [getpid()] } })
    }

    @Test func aLiveSocketIsNotStolenButAStaleOneIsReplaced() throws {
        let lab = try Lab()
        let second = ControlServer(path: lab.path, queue: DispatchQueue(label: "t2"), logger: Logger(label: "t"),
                                   handler: { _, _ in ControlReply(.failure("")) })
        let error = #expect(throws: ControlSocketError.self) { try second.start() }
        #expect(error?.errno == .addressInUse)
        #expect(error?.description.contains("another spantapd is running") == true)

        // A socket file nobody listens on (a crashed daemon's) is replaced.
        lab.queue.sync { lab.server.stop() }
        let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(lab.path.utf8)) }
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(stale, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        close(stale)
        let thirdQueue = DispatchQueue(label: "t3")
        let third = ControlServer(path: lab.path, queue: thirdQueue, logger: Logger(label: "t"),
                                  handler: { _, _ in ControlReply(ControlResponse(message: "third")) })
        try third.start()
        defer { thirdQueue.sync { third.stop() } }
        #expect(try ControlClient(path: lab.path).send(.reload).0.message == "third")
    }

    @Test(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
    func otherUsersAreRefused() throws {
        let lab = try Lab()
        defer { lab.stop() }
        let client = try compiledFixture("Tests/SpanTapControlTests/Fixtures/raw_client.c")
        let asNobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", client, lab.path, "{\"command\":\"status\"}"]

        // The 0600 socket file already keeps other users out...
        let denied = #expect(throws: CommandFailure.self) { try run(asNobody) }
        #expect(denied?.status == 2)
        #expect(denied?.output.contains("EACCES") == true)

        // ...and if its mode were loosened, the peer-credential check still refuses.
        #expect(chmod(lab.path, 0o666) == 0)
        let answer = try run(asNobody)
        let response = try ControlCodec.decode(ControlResponse.self, from: Array(answer.utf8.prefix { $0 != UInt8(ascii: "\n") }))
        #expect(response.ok == false)
        #expect(response.error == "permission denied: spantapd takes control requests from root only (your uid is 65534)")
    }
}
