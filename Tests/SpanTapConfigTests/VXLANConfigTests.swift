import SpanTapConfig
import SpanTapTestSupport
import Testing

/// `output { vxlan { ... } }`: both config forms, the default device name, canonical addresses.
@Suite struct VXLANConfigTests {
    static func parse(_ name: String) throws -> SpanTapConfig {
        try ConfigParser.parse(contentsOf: ConfigCorpusTests.corpus.appendingPathComponent("valid/\(name)").path)
    }

    @Test func bothFormsMeanTheSameTunnels() throws {
        let hierarchical = try Self.parse("vxlan-hierarchical.conf")
        #expect(hierarchical == (try Self.parse("vxlan-flat.conf")))
        #expect(hierarchical.instances.map(\.output) == [
            MirrorOutput(interface: "stv4242", vxlan: VXLANTunnel(remote: "192.0.2.9", vni: 4242, local: "192.0.2.1")),
            MirrorOutput(interface: "remote6", vxlan: VXLANTunnel(remote: "2001:db8::9", vni: 7, dstport: 8472)),
        ])
    }

    @Test func instancesGivingTheSameTunnelShareItsDevice() throws {
        let config = try ConfigParser.parse("""
            set forwarding-options port-mirroring instance span1 input ingress interface fwd-a
            set forwarding-options port-mirroring instance span1 output vxlan remote 192.0.2.9
            set forwarding-options port-mirroring instance span1 output vxlan vni 9
            set forwarding-options port-mirroring instance span2 input ingress interface fwd-b
            set forwarding-options port-mirroring instance span2 output vxlan vni 9
            set forwarding-options port-mirroring instance span2 output vxlan remote 192.0.2.9
            """)
        #expect(config.instances.map(\.output.interface) == ["stv9", "stv9"])
    }

    @Test func aVXLANDeviceNamedAsAnIngressIsRefused() {
        let error = #expect(throws: ConfigError.self) {
            try ConfigParser.parse("""
                set forwarding-options port-mirroring instance span1 input ingress interface stv9
                set forwarding-options port-mirroring instance span1 output vxlan remote 192.0.2.9
                set forwarding-options port-mirroring instance span1 output vxlan vni 9
                """)
        }
        #expect(error?.message.contains("would mirror its own mirrored frames") == true)
    }
}
