import Foundation
import Glibc
import SpanTapTestSupport
import Testing

/// spantapd under Type=notify: the test plays systemd's side of $NOTIFY_SOCKET with a datagram
/// socket of its own in the abstract namespace (as systemd's own `@` addresses are).
@Suite(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct SystemdNotifyTests {
    /// A lab mirroring to a new TAP whose spantapd notifies `notifications` (not started yet).
    static func lab(notifying notifications: NotifySocket) throws -> (DaemonLab, String) {
        let tap = uniqueName("out")
        let lab = try DaemonLab(config: DaemonLab.config(ingress: [uniqueName("in")], output: tap))
        lab.interfaces = [tap]
        lab.environment = ["NOTIFY_SOCKET": "@" + notifications.name]
        return (lab, tap)
    }

    @Test func readyAfterTapAndSocketReloadingAroundSighupStoppingOnSigterm() throws {
        let notifications = try NotifySocket()
        defer { notifications.close() }
        let (lab, tap) = try Self.lab(notifying: notifications)
        defer { lab.cleanUp() }

        var received: [String] = []
        try lab.start(until: {
            received += notifications.drain()
            return received.contains { $0.hasPrefix("READY=1") }
        })
        // Checked the moment READY=1 arrived: by then the TAP exists and the socket answers.
        #expect(ifindex(of: tap) != nil, "READY=1 before the TAP existed")
        #expect(try lab.status().instances.first?.output.interface == tap, "READY=1 before the control socket answered")
        #expect(received.first?.contains("STATUS=1 mirror instance(s)") == true, "\(received)")

        received = []
        kill(try #require(lab.process?.processIdentifier), SIGHUP)
        #expect(waitUntil { received += notifications.drain(); return received.count >= 2 })
        #expect(received.map { $0.split(separator: "\n")[0] } == ["RELOADING=1", "READY=1"], "\(received)")
        #expect(received.first?.contains("MONOTONIC_USEC=") == true)

        received = []
        #expect(lab.stop() == 0)
        received += notifications.drain()
        #expect(received.map { $0.split(separator: "\n")[0] } == ["STOPPING=1"], "\(received)")
    }

    /// `systemctl reload` waits for READY=1 after RELOADING=1, so a reload spantapd refuses must
    /// end in READY=1 too (the old config still running), or systemd would hang and then fail it.
    @Test func aRefusedReloadStillEndsInReady() throws {
        let notifications = try NotifySocket()
        defer { notifications.close() }
        let (lab, tap) = try Self.lab(notifying: notifications)
        defer { lab.cleanUp() }
        try lab.start(until: { notifications.drain().contains { $0.hasPrefix("READY=1") } })

        try lab.writeConfig("forwarding-options {\n    port-mirroring {\n        instance span1 { input { rate ten; } }\n    }\n}\n")
        var received: [String] = []
        kill(try #require(lab.process?.processIdentifier), SIGHUP)
        #expect(waitUntil { received += notifications.drain(); return received.count >= 2 })
        #expect(received.map { $0.split(separator: "\n")[0] } == ["RELOADING=1", "READY=1"], "\(received)")
        #expect(waitUntil { lab.log().contains(lab.configPath + ":3") }, "the refusal names the file and line: \(lab.log())")
        #expect(lab.process?.isRunning == true)
        #expect(try lab.status().instances.first?.output.interface == tap, "the old config keeps running")
        #expect(ifindex(of: tap) != nil)
    }
}

/// A unix datagram socket bound to a random abstract name, read without blocking.
struct NotifySocket {
    let fd: Int32
    let name: String

    init() throws {
        name = uniqueName("notify")
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = [UInt8(0)] + Array(name.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else { throw CommandFailure(command: ["bind @\(name)"], status: errno, output: String(cString: strerror(errno))) }
    }

    func drain() -> [String] {
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while case let n = recv(fd, &buffer, buffer.count, 0), n > 0 {
            messages.append(String(decoding: buffer.prefix(n), as: UTF8.self))
        }
        return messages
    }

    func close() { _ = Glibc.close(fd) }
}
