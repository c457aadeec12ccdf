import Foundation
import Glibc
import SpanTapControl
import SpanTapTestSupport
import Testing

/// `output { queues N; }` through the release spantapd: the TAP has N queues, and re-creation,
/// rename, reload to another N (persistent too) and shutdown work as for one queue.
@Suite(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct DaemonMultiQueueTests {
    static func config(ingress: String, output: String, queues: String, persistent: Bool = false) -> String {
        DaemonLab.config(ingress: [ingress], output: output, persistent: persistent)
            + "set forwarding-options port-mirroring instance span1 output queues \(queues)\n"
    }

    /// Queues the kernel gives the TAP: one rx queue per attached fd.
    static func queueCount(_ name: String) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net/\(name)/queues")) ?? []
        return names.filter { $0.hasPrefix("rx-") }.count
    }

    @Test func queuesSurviveRecreationRenameReloadAndShutdown() throws {
        let tap = uniqueName("mq"), renamed = uniqueName("mqr"), ingress = try DaemonLab.makeIngress()
        let lab = try DaemonLab(config: Self.config(ingress: ingress, output: tap, queues: "2"))
        lab.interfaces = [tap, renamed, ingress]
        defer { lab.cleanUp() }
        try lab.start()
        #expect(try run("ip", "-d", "link", "show", tap).contains("multi_queue"))
        #expect(Self.queueCount(tap) == 2)
        #expect(lab.log().contains("sink writes with io_uring"), "the write method is logged once at start")

        // Deleted behind spantapd's back: made again with its two queues.
        let before = try #require(ifindex(of: tap))
        try run("ip", "link", "del", tap)
        #expect(waitUntil(seconds: 2) { ifindex(of: tap).map { $0 != before } ?? false })
        #expect(waitUntil { Self.queueCount(tap) == 2 })
        #expect(try lab.status().instances.first?.recreated == 1)

        // Renamed: followed, not re-created.
        let index = try #require(ifindex(of: tap))
        try run("ip", "link", "set", tap, "name", renamed)
        #expect(waitUntil { (try? lab.status().instances.first?.output.interface) == renamed })
        #expect(try lab.status().instances.first?.output.ifindex == index)
        try run("ip", "link", "set", renamed, "name", tap)
        #expect(waitUntil { (try? lab.status().instances.first?.output.interface) == tap })

        // Reload to one queue, then to three persistent ones: a new TAP each time, same output.
        try lab.writeConfig(Self.config(ingress: ingress, output: tap, queues: "1"))
        #expect(try lab.send(.reload).ok)
        #expect(waitUntil { Self.queueCount(tap) == 1 })
        #expect(try !run("ip", "-d", "link", "show", tap).contains("multi_queue"))
        try lab.writeConfig(Self.config(ingress: ingress, output: tap, queues: "3", persistent: true))
        #expect(try lab.send(.reload).ok)
        #expect(waitUntil { Self.queueCount(tap) == 3 })
        #expect(try lab.status().instances.first?.output.ifindex == ifindex(of: tap))

        // Shutdown closes every queue; the persistent TAP stays, the kernel keeps its queue mode.
        #expect(lab.stop() == 0)
        #expect(ifindex(of: tap) != nil)
        #expect(try run("ip", "-d", "link", "show", tap).contains("multi_queue"))
    }

    @Test func ioUringOffIsHonouredAndLogged() throws {
        let tap = uniqueName("mqo"), ingress = try DaemonLab.makeIngress()
        let lab = try DaemonLab(config: "set sink io-uring off\n" + Self.config(ingress: ingress, output: tap, queues: "auto"))
        lab.interfaces = [tap, ingress]
        defer { lab.cleanUp() }
        try lab.start()
        #expect(lab.log().contains("sink writes with write(2)"))
        #expect(Self.queueCount(tap) == Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), "auto: one queue per sink worker")
    }
}
