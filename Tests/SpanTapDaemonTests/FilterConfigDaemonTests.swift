import Foundation
import SpanTapControl
import SpanTapTestSupport
import Testing

/// Filters through the real spantapd: `--check`, reload and apply refuse a bad expression with
/// libpcap's message and keep what runs; status shows each instance's filter and program length.
@Suite struct FilterCheckTests {
    @Test func checkRefusesABadExpressionWithItsLocation() throws {
        let path = packageRoot.appendingPathComponent("Tests/SpanTapConfigTests/Corpus/invalid/filter-bad-expression.conf").path
        let failure = #expect(throws: CommandFailure.self) {
            try run(DaemonLab.buildDirectory.appendingPathComponent("spantapd").path, "--config", path, "--check")
        }
        #expect(failure?.status == 1)
        #expect(failure?.output.hasPrefix("spantapd: \(path):3:67: filter of instance span1 \"tcp prot 443\": can't parse filter expression: syntax error") == true,
                "\(failure?.output ?? "")")
    }
}

@Suite(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct FilterConfigDaemonTests {
    static func filtered(_ expression: String, ingress: String, output: String) -> String {
        DaemonLab.config(ingress: [ingress], output: output)
            + "set forwarding-options port-mirroring instance span1 input filter \"\(expression)\"\n"
    }

    @Test func statusShowsFiltersAndABadReloadKeepsThem() throws {
        let tap = uniqueName("out"), second = uniqueName("out2"), ingress = uniqueName("in"), trunk = uniqueName("tr")
        let firewall = """
            set forwarding-options port-mirroring instance fw output interface \(second)
            set firewall family inet filter pick term web from protocol tcp
            set firewall family inet filter pick term web from destination-port [ 80 443 ]
            set firewall family inet filter pick term web then port-mirror-instance fw
            set interfaces \(trunk) unit 100 family inet filter input pick

            """
        let lab = try DaemonLab(config: Self.filtered("tcp port 443 and net 10.0.0.0/8", ingress: ingress, output: tap) + firewall)
        lab.interfaces = [tap, second]
        defer { lab.cleanUp() }
        try lab.start()

        let status = try lab.status()
        let span1 = try #require(status.instances.first { $0.name == "span1" })
        #expect(span1.filter == "tcp port 443 and net 10.0.0.0/8" && span1.filterInstructions == 20)
        #expect(span1.firewallSelections == nil)
        let fw = try #require(status.instances.first { $0.name == "fw" })
        #expect(fw.filter == nil && fw.ingress.isEmpty)
        let selection = try #require(fw.firewallSelections?.first)
        #expect(selection.interface == "\(trunk).100" && selection.direction == "ingress" && selection.firewallFilters == ["inet pick"])
        #expect(selection.filter.hasPrefix("(vlan 100) and ") && selection.filterInstructions > 10, "\(selection)")

        // The CLI's JSON carries the same fields, snake_case.
        let json = try run(DaemonLab.buildDirectory.appendingPathComponent("spantap").path, "--control-socket", lab.socketPath, "status", "--json")
        #expect(json.contains("\"filter_instructions\":20"))
        #expect(json.contains("\"firewall_filters\":[\"inet pick\"]"))

        let table = try run(DaemonLab.buildDirectory.appendingPathComponent("spantap").path, "--control-socket", lab.socketPath, "status")
        #expect(table.contains("\nFILTERED  SELECTION"))
        #expect(table.contains("\nspan1     all "))
        #expect(table.contains("  20     tcp port 443 and net 10.0.0.0/8\n"), "\(table)")
        #expect(table.contains("\nfw        \(trunk).100 ingress  "))

        // A bad expression is refused with its location and libpcap's message; nothing changes.
        try lab.writeConfig(Self.filtered("tcp port 99999", ingress: ingress, output: tap) + firewall)
        let refused = try lab.send(.reload)
        #expect(refused.ok == false)
        #expect(refused.error?.contains("\(lab.configPath):4:67: filter of instance span1 \"tcp port 99999\": illegal port number 99999 > 65535") == true,
                "\(refused.error ?? "")")
        #expect(try lab.status() == status)

        // A good one takes over.
        try lab.writeConfig(Self.filtered("udp dst port 5001", ingress: ingress, output: tap) + firewall)
        let reloaded = try lab.send(.reload)
        #expect(reloaded.ok && reloaded.message == "instances changed: span1", "\(reloaded.message ?? "")")
        #expect(try lab.status().instances.first { $0.name == "span1" }?.filter == "udp dst port 5001")
    }

    /// A firewall selection becomes a rule like an `ingress` does: producers are told about it.
    @Test func firewallSelectionsAreRules() throws {
        let tap = uniqueName("out"), trunk = try DaemonLab.makeIngress()
        let lab = try DaemonLab(config: "set forwarding-options port-mirroring instance fw output interface \(tap)\n"
            + "set firewall family inet6 filter pick term all then port-mirror\n"
            + "set interfaces \(trunk) unit 0 family inet6 filter input pick\n")
        lab.interfaces = [tap, trunk]
        defer { lab.cleanUp() }
        try lab.start()
        let (response, descriptors) = try ControlClient(path: lab.socketPath).send(.attachProducer(AttachProducer(name: "fw")))
        defer { descriptors.forEach { try? $0.close() } }
        #expect(response.producer?.rules.map(\.ingress) == [trunk])
        #expect(try lab.status().instances.first?.firewallSelections?.first?.filter == "ip6")
    }

    @Test func applyRefusesABadFilterAndKeepsTheTable() throws {
        let (lab, tap) = try DaemonLab.startedWithTap()
        defer { lab.cleanUp() }
        let tapIndex = try #require(ifindex(of: tap))
        let good = ForwarderSnapshot(mirrorConfigs: [.init(ingressIfindex: 1, outputIfindex: tapIndex, rate: 3, filter: "udp dst port 5001")])
        #expect(try lab.send(.apply(good)).message == "mirror table replaced: 1 rule(s)")
        let bad = ForwarderSnapshot(mirrorConfigs: [.init(ingressIfindex: 1, outputIfindex: tapIndex, rate: 1),
                                                    .init(ingressIfindex: 1, outputIfindex: tapIndex, rate: 1, filter: "udp dst port 99999")])
        let refused = try lab.send(.apply(bad))
        #expect(refused.ok == false)
        #expect(refused.error == "apply refused, mirror table unchanged: mirror_configs[1] filter \"udp dst port 99999\": illegal port number 99999 > 65535")
        // The first snapshot is still in force: a producer attaching now is given its rate.
        let (response, descriptors) = try ControlClient(path: lab.socketPath).send(.attachProducer(AttachProducer(name: "after-refusal")))
        defer { descriptors.forEach { try? $0.close() } }
        #expect(response.producer?.rules.map(\.rate) == [3])
    }
}
