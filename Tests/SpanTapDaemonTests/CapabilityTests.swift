import Foundation
import Glibc
import SpanTapTestSupport
import Testing

/// The release spantapd as root but with exactly the capability set of etc/spantapd.service (no
/// more in the bounding, inheritable, ambient or effective sets), on the dataplane lab: everything
/// an operator relies on works with that set, and each capability in it is needed for something.
@Suite(.serialized, .enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct CapabilityTests {
    init() { NamespaceLab.ensureBPFFS() }

    /// What fails without each capability, as spantapd logs it (README "Capabilities").
    static let breaksWithout: [String: String] = [
        "CAP_NET_ADMIN": "creating or attaching a TAP needs CAP_NET_ADMIN",
        "CAP_NET_RAW": "xsk_umem__create on %A failed: Operation not permitted",
        "CAP_SYS_ADMIN": "Couldn't load trivial BPF program",
        "CAP_IPC_LOCK": "xsk_umem__create on %A failed: No buffer space available",
    ]

    /// CapabilityBoundingSet= of the unit, e.g. ["CAP_NET_ADMIN", ...].
    static let unitCapabilities: [String] = {
        let unit = (try? String(contentsOf: packageRoot.appendingPathComponent("etc/spantapd.service"), encoding: .utf8)) ?? ""
        let line = unit.split(separator: "\n").first { $0.hasPrefix("CapabilityBoundingSet=") } ?? ""
        return line.dropFirst("CapabilityBoundingSet=".count).split(separator: " ").map(String.init)
    }()

    /// Runs spantapd with only `capabilities`, under the locked-memory limit systemd gives a
    /// service by default (8 MiB), so UMEM accounting is what it is in production.
    static func launcher(_ capabilities: [String]) -> [String] {
        let set = (["-all"] + capabilities.map { "+" + $0.dropFirst(4).lowercased() }).joined(separator: ",")
        return ["/usr/bin/prlimit", "--memlock=8388608:8388608", "setpriv",
                "--bounding-set", set, "--inh-caps", set, "--ambient-caps", set]
    }

    @Test func unitCapabilitiesForwardMirrorReloadAndStopCleanly() throws {
        #expect(Set(Self.unitCapabilities) == Set(Self.breaksWithout.keys), "the unit and this test disagree on the set")
        let hosts = try NamespaceLab()
        defer { hosts.teardown() }
        let tap = uniqueName("out")
        let lab = try DaemonLab(config: DaemonDataplaneTests.config(hosts, tap: tap, rate: 1))
        lab.interfaces = [tap]
        lab.launcher = Self.launcher(Self.unitCapabilities)
        defer { lab.cleanUp() }
        try lab.start()
        // Every set of the running daemon holds exactly the unit's capabilities, nothing more.
        let status = try String(contentsOfFile: "/proc/\(lab.process!.processIdentifier)/status", encoding: .utf8)
        for set in ["CapEff", "CapPrm", "CapBnd", "CapAmb"] {
            let mask = try #require(status.split(separator: "\n").first { $0.hasPrefix(set + ":") }?.split(separator: "\t").last)
            let decoded = try run("capsh", "--decode=\(mask)").trimmingCharacters(in: .whitespacesAndNewlines)
            let names = decoded.split(separator: "=").last?.split(separator: ",").map { $0.uppercased() } ?? []
            #expect(Set(names) == Set(Self.unitCapabilities), "\(set): \(decoded)")
        }
        #expect(waitUntil { lab.log().contains("cross-connect started") }, "\(lab.log())")
        let capture = try PacketCapture(ifindex: try #require(ifindex(of: tap)))

        // Each reply ping received answers a request the forwarder took and so mirrored; the lab's
        // veths may lose a request under a loaded CI machine, and that one is neither forwarded nor
        // mirrored, so the check is against the replies, not against the 3 sent.
        let ping = try hosts.inA("ping", "-c", "3", "-i", "0.2", "-W", "2", hosts.addressB)
        let replies = try #require(ping.firstMatch(of: /(\d+) received/).flatMap { Int($0.1) }, "\(ping)")
        let mirrored = capture.drain().filter { $0.count > 34 && $0[23] == 1 && $0[34] == 8 }.count
        #expect(replies >= 1 && mirrored >= replies && mirrored <= 3, "echo requests mirrored: \(mirrored), replies: \(replies)")
        #expect(try lab.send(.reload).ok)
        try hosts.inA("ping", "-c", "1", "-W", "2", hosts.addressB)
        #expect(lab.stop() == 0, "\(lab.log())")
        #expect(ifindex(of: tap) == nil, "the TAP is removed")
        #expect(try !NamespaceLab.hasXDPProgram(hosts.forwarderA), "XDP is detached")
    }

    @Test(arguments: unitCapabilities)
    func eachCapabilityIsNeeded(_ dropped: String) throws {
        let symptom = try #require(Self.breaksWithout[dropped], "no known breakage without \(dropped): is it needed?")
        let hosts = try NamespaceLab()
        defer { hosts.teardown() }
        let tap = uniqueName("out")
        let lab = try DaemonLab(config: DaemonDataplaneTests.config(hosts, tap: tap, rate: 1))
        lab.interfaces = [tap]
        lab.launcher = Self.launcher(Self.unitCapabilities.filter { $0 != dropped })
        defer { lab.cleanUp() }
        let expected = symptom.replacingOccurrences(of: "%A", with: hosts.forwarderA)
        try? lab.start(until: { lab.log().contains(expected) })
        #expect(waitUntil { lab.log().contains(expected) }, "without \(dropped): \(lab.log())")
        #expect(throws: CommandFailure.self, "without \(dropped) nothing may be forwarded") {
            try hosts.inA("ping", "-c", "1", "-W", "1", hosts.addressB)
        }
    }
}
