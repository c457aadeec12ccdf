import SpanTapConfig
import SpanTapTestSupport
import Testing

/// `output { erspan { ... } }` and `output { gre { ... } }`: both config forms, canonical addresses,
/// defaults, and one output named by two instances.
@Suite struct RemoteOutputConfigTests {
    @Test func bothFormsMeanTheSameSessions() throws {
        let hierarchical = try VXLANConfigTests.parse("remote-hierarchical.conf")
        #expect(hierarchical == (try VXLANConfigTests.parse("remote-flat.conf")))
        #expect(hierarchical.instances.map(\.output) == [
            MirrorOutput(interface: "ers-ids", gre: GRETunnel(remote: "192.0.2.9", local: "192.0.2.1",
                                                             encapsulation: .erspan(.init(version: 3, sessionID: 100, hardwareID: 7)))),
            MirrorOutput(interface: "ers-broker", gre: GRETunnel(remote: "2001:db8::9",
                                                                encapsulation: .erspan(.init(version: 2, sessionID: 5, index: 1234)))),
            MirrorOutput(interface: "gre-lab", gre: GRETunnel(remote: "198.51.100.7", encapsulation: .gre(key: 42, sequenceNumbers: true))),
        ])
        #expect(hierarchical.instances.map { $0.output.gre?.kind } == ["erspan", "erspan", "gre"])
    }

    @Test func aNextHopGroupAddsItsOutputsAfterTheInstancesOwn() throws {
        let config = try VXLANConfigTests.parse("fan-out-group.conf")
        #expect(config.instances[0].outputs == [
            MirrorOutput(interface: "span0"),
            MirrorOutput(interface: "ers1", gre: GRETunnel(remote: "192.0.2.9", encapsulation: .erspan(.init(sessionID: 9)))),
            MirrorOutput(interface: "stv77", vxlan: VXLANTunnel(remote: "192.0.2.10", vni: 77)),
        ])
        let flat = try ConfigParser.parse("""
            set forwarding-options port-mirroring instance span1 input ingress interface fwd-a
            set forwarding-options port-mirroring instance span1 output interface span0
            set forwarding-options port-mirroring instance span1 output interface ers1 erspan remote 192.0.2.9
            set forwarding-options port-mirroring instance span1 output interface ers1 erspan session-id 9
            set forwarding-options port-mirroring instance span1 output interface stv77 vxlan remote 192.0.2.10
            set forwarding-options port-mirroring instance span1 output interface stv77 vxlan vni 77
            """)
        #expect(flat.instances[0].outputs == config.instances[0].outputs, "the same outputs named in the instance itself")
    }

    @Test func twoInstancesMayShareOneSessionDescribedAlike() throws {
        let session = """
            output interface ers1
            output erspan remote 192.0.2.9
            output erspan session-id 9
            """
        func instance(_ name: String, _ port: String, _ lines: String) -> String {
            "set forwarding-options port-mirroring instance \(name) input ingress interface \(port)\n"
                + lines.split(separator: "\n").map { "set forwarding-options port-mirroring instance \(name) \($0)\n" }.joined()
        }
        let shared = try ConfigParser.parse(instance("span1", "fwd-a", session) + instance("span2", "fwd-b", session))
        #expect(shared.instances.map(\.output.interface) == ["ers1", "ers1"])
        let error = #expect(throws: ConfigError.self) {
            try ConfigParser.parse(instance("span1", "fwd-a", session) + instance("span2", "fwd-b", session + "\noutput erspan index 3"))
        }
        #expect(error?.message == "instance span2 names output ers1 like instance span1 but with other settings; instances sharing an output must describe it the same way")
    }
}
