import Foundation
import SpanTapControl
import SpanTapTestSupport
import Testing

/// An analyzer with both directions, a VLAN unit and run-length, through the real spantapd: status
/// shows it, and the rules every ring's table carries (listed in the attach reply) say the same.
@Suite(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct DaemonAnalyzerTests {
    @Test func anAnalyzersSelectorsReachStatusAndTheRuleTables() throws {
        let a = try DaemonLab.makeIngress(), b = try DaemonLab.makeIngress(), tap = uniqueName("out")
        let lab = try DaemonLab(config: """
            set forwarding-options port-mirroring mirror-once
            set forwarding-options analyzer both input rate 3
            set forwarding-options analyzer both input run-length 2
            set forwarding-options analyzer both input max-packets-per-second 500
            set forwarding-options analyzer both input ingress interface \(a).100
            set forwarding-options analyzer both input egress interface \(b)
            set forwarding-options analyzer both output interface \(tap)

            """)
        lab.interfaces = [a, b, tap]
        defer { lab.cleanUp() }
        try lab.start()

        let instance = try #require(try lab.status().instances.first)
        #expect(instance.kind == "analyzer" && instance.name == "both")
        #expect(instance.ingress == ["\(a).100"] && instance.egress == [b] && instance.runLength == 2 && instance.rate == 3)

        let client = try ControlClient(path: lab.socketPath)
        let grant = try #require(try client.send(.attachProducer(AttachProducer(name: "probe"))).0.producer)
        let rules = grant.rules.sorted { $0.direction < $1.direction }
        #expect(rules.map(\.direction) == ["received", "transmitted"])
        #expect(rules.map(\.ingressIfindex) == [try #require(ifindex(of: a)), try #require(ifindex(of: b))])
        #expect(rules.map(\.vlanId) == [100, 0], "the unit is the port's ifindex plus its VLAN id")
        #expect(rules.allSatisfy { $0.runLength == 2 && $0.rate == 3 && $0.maxPacketsPerSecond == 500 })
        #expect(instance.maxPacketsPerSecond == 500)
    }
}
