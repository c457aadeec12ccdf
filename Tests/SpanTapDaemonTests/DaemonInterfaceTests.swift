import Foundation
import Glibc
import SpanTapControl
import SpanTapRing
import SpanTapTestSupport
import Testing

/// What an operator touches besides the config: the spantap CLI, `apply`, and /metrics.
@Suite(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct DaemonInterfaceTests {
    func spantap(_ lab: DaemonLab, _ arguments: String...) throws -> String {
        try run([DaemonLab.buildDirectory.appendingPathComponent("spantap").path, "--control-socket", lab.socketPath] + arguments)
    }

    @Test func cliShowsStatusAsTableAndJSONAndReloads() throws {
        let tap = uniqueName("out"), ingress = uniqueName("in")
        let lab = try DaemonLab(config: DaemonLab.config(rate: 10, ingress: [ingress], output: tap))
        lab.interfaces = [tap]
        defer { lab.cleanUp() }
        try lab.start()

        let table = try spantap(lab, "status").split(separator: "\n")
        #expect(table.first?.hasPrefix("INSTANCE  RATE  INGRESS") == true)
        #expect(table.dropFirst().first?.split(separator: " ").prefix(5) == ["span1", "1/10", Substring(ingress), "\(tap)#\(ifindex(of: tap)!)", "tap"])

        let json = try spantap(lab, "status", "--json")
        let status = try ControlCodec.decode(StatusReport.self, from: Array(json.utf8.prefix { $0 != UInt8(ascii: "\n") }))
        #expect(status == (try lab.status()))
        #expect(json.contains("\"mirror_drops_queue_full\":0"))

        #expect(try spantap(lab, "reload") == "no changes\n")
        try lab.writeConfig("set forwarding-options bogus\n")
        let refused = #expect(throws: CommandFailure.self) { try spantap(lab, "reload") }
        #expect(refused?.status == 1)
        #expect(refused?.output.hasPrefix("spantap: reload refused, running config unchanged: \(lab.configPath):1:") == true)
    }

    @Test func applyReplacesTheMirrorTableAndReportsUnknownIfindexes() throws {
        let (lab, tap) = try DaemonLab.startedWithTap()
        defer { lab.cleanUp() }
        let tapIndex = try #require(ifindex(of: tap))
        let snapshot = "{\"mirror_configs\":[{\"ingress_ifindex\":1,\"output_ifindex\":\(tapIndex),\"rate\":7},"
            + "{\"ingress_ifindex\":999999,\"output_ifindex\":\(tapIndex),\"rate\":1}]}"
        let file = lab.directory.appendingPathComponent("snapshot.json").path
        try snapshot.write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try spantap(lab, "apply", file) == "mirror table replaced: 1 rule(s); ignored: unknown ingress_ifindex 999999\n")

        // A producer attaching now is told the snapshot's rules, not the config's.
        let client = try ControlClient(path: lab.socketPath)
        let (response, descriptors) = try client.send(.attachProducer(AttachProducer(name: "after-apply")))
        defer { descriptors.forEach { try? $0.close() } }
        #expect(response.producer?.rules == [ProducerGrant.Rule(RingRule(ifindex: 1, outputID: 0, rate: 7), ingress: "lo", output: tap)])
        #expect(descriptors.count == 2)

        // A reload returns to the config.
        #expect(try lab.send(.reload).ok)
        let (again, more) = try ControlClient(path: lab.socketPath).send(.attachProducer(AttachProducer(name: "after-reload")))
        defer { more.forEach { try? $0.close() } }
        #expect(again.producer?.rules.map(\.rate) == [1])
    }

    @Test func metricsEndpointServesTheStatusCounters() throws {
        let (lab, tap) = try DaemonLab.startedWithTap(extraArguments: ["--metrics", "127.0.0.1:0"])
        defer { lab.cleanUp() }
        let port = try #require(lab.metricsPort())

        let page = try run("curl", "-sf", "http://127.0.0.1:\(port)/metrics")
        #expect(page.contains("# TYPE spantap_delivered_packets_total counter"))
        #expect(page.contains("spantap_mirror_drops_queue_full_total{mirror_instance=\"span1\",output=\"\(tap)\"} 0"))
        #expect(throws: CommandFailure.self) { try run("curl", "-sf", "http://127.0.0.1:\(port)/other") }
    }
}
