import Foundation
import Glibc
import SpanTapControl
import SpanTapTestSupport
import Testing

/// Forwarding wins on a shared host: spantapd's forwarding thread and its slow path run where and
/// how the config says, read back from /proc as an operator (or `top -H`, `taskset`) would.
@Suite(.serialized, .enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct ThreadPlacementTests {
    init() { NamespaceLab.ensureBPFFS() }

    /// One thread of spantapd as /proc shows it.
    struct Task {
        var tid: Int32
        var name: String
        /// sched policy (stat field 41): 0 SCHED_OTHER, 3 SCHED_BATCH, 5 SCHED_IDLE.
        var policy: Int
        var nice: Int
        var cpus: String
    }

    static func tasks(of pid: Int32) -> [Task] {
        let tids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tids.compactMap { task in
            let base = "/proc/\(pid)/task/\(task)"
            guard let tid = Int32(task), let stat = try? String(contentsOfFile: "\(base)/stat", encoding: .utf8),
                  let status = try? String(contentsOfFile: "\(base)/status", encoding: .utf8),
                  let afterName = stat.lastIndex(of: ")") else { return nil }
            // Fields after "(comm)" start at field 3: nice is field 19, policy field 41.
            let fields = stat[stat.index(after: afterName)...].split(separator: " ")
            let cpus = status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }?
                .split(separator: "\t").last.map(String.init) ?? ""
            let name = (try? String(contentsOfFile: "\(base)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            return Task(tid: tid, name: name, policy: Int(fields[38]) ?? -1, nice: Int(fields[16]) ?? -99, cpus: cpus)
        }
    }

    static func config(_ hosts: NamespaceLab, tap: String, dataplaneCPU: Int, sinkCPU: Int, scheduling: String) -> String {
        DaemonDataplaneTests.config(hosts, tap: tap, rate: 1) + """
        set dataplane cpus \(dataplaneCPU)
        set sink cpus \(sinkCPU)
        set sink scheduling \(scheduling)

        """
    }

    @Test func theForwarderAndTheSlowPathRunWhereTheConfigSaysAndFollowAReload() throws {
        try #require(sysconf(Int32(_SC_NPROCESSORS_CONF)) >= 2, "placing two sides apart needs two CPUs")
        let hosts = try NamespaceLab()
        defer { hosts.teardown() }
        let tap = uniqueName("out")
        let lab = try DaemonLab(config: Self.config(hosts, tap: tap, dataplaneCPU: 1, sinkCPU: 0, scheduling: "idle"))
        lab.interfaces = [tap]
        defer { lab.cleanUp() }
        try lab.start()
        try hosts.inA("ping", "-c", "2", "-i", "0.2", "-W", "2", hosts.addressB)

        var tasks = Self.tasks(of: lab.pid)
        let forwarder = try #require(tasks.first { $0.name == "fwd-wire0" }, "threads: \(tasks.map(\.name))")
        #expect(forwarder.policy == 0 && forwarder.nice == 0 && forwarder.cpus == "1", "\(forwarder)")
        let slow = tasks.filter { $0.tid != forwarder.tid }
        #expect(!slow.isEmpty && slow.allSatisfy { $0.policy == 5 && $0.cpus == "0" }, "\(slow)")

        // A reload swaps both; the forwarding thread is moved, not restarted.
        try lab.writeConfig(Self.config(hosts, tap: tap, dataplaneCPU: 0, sinkCPU: 1, scheduling: "batch"))
        #expect(try lab.send(.reload).ok)
        tasks = Self.tasks(of: lab.pid)
        let moved = try #require(tasks.first { $0.name == "fwd-wire0" })
        #expect(moved.tid == forwarder.tid && moved.cpus == "0" && moved.policy == 0, "\(moved)")
        #expect(tasks.filter { $0.tid != moved.tid }.allSatisfy { $0.policy == 3 && $0.nice == 10 && $0.cpus == "1" }, "\(tasks)")
        try hosts.inA("ping", "-c", "2", "-i", "0.2", "-W", "2", hosts.addressB)

        // A CPU this machine does not have is refused, and nothing changes.
        try lab.writeConfig(Self.config(hosts, tap: tap, dataplaneCPU: 999, sinkCPU: 1, scheduling: "batch"))
        let refused = try lab.send(.reload)
        #expect(refused.ok == false && refused.error?.contains("dataplane cpus names CPU 999") == true, "\(refused)")
        #expect(Self.tasks(of: lab.pid).first { $0.name == "fwd-wire0" }?.cpus == "0")
    }
}
