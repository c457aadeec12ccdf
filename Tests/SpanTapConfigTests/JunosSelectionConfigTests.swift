import SpanTapConfig
import SpanTapTestSupport
import Testing

/// Junos packet selection in the config: analyzers, egress, run-length, mirror-once, VLAN units.
@Suite struct JunosSelectionConfigTests {
    @Test func theHierarchicalAndFlatFormsMeanTheSame() throws {
        let hierarchical = try ConfigParser.parse(contentsOf: ConfigCorpusTests.corpus.appendingPathComponent("valid/analyzer.conf").path)
        let flat = try ConfigParser.parse("""
            set forwarding-options port-mirroring mirror-once
            set forwarding-options port-mirroring instance span1 input rate 10
            set forwarding-options port-mirroring instance span1 input run-length 2
            set forwarding-options port-mirroring instance span1 input max-packets-per-second 1000
            set forwarding-options port-mirroring instance span1 input ingress interface fwd-c.100
            set forwarding-options port-mirroring instance span1 input ingress interface fwd-c.200
            set forwarding-options port-mirroring instance span1 output interface span0
            set forwarding-options analyzer both-ways input rate 1
            set forwarding-options analyzer both-ways input ingress interface fwd-a
            set forwarding-options analyzer both-ways input egress interface fwd-b
            set forwarding-options analyzer both-ways output interface span1
            """)
        #expect(hierarchical == flat)
        #expect(flat.mirrorOnce)
        #expect(flat.instances.map(\.kind) == [.portMirroring, .analyzer])
        #expect(flat.instances[0].runLength == 2 && flat.instances[0].ingress == ["fwd-c.100", "fwd-c.200"])
        #expect(flat.instances[0].maxPacketsPerSecond == 1000 && flat.instances[1].maxPacketsPerSecond == 0)
        #expect(flat.instances[1].ingress == ["fwd-a"] && flat.instances[1].egress == ["fwd-b"])
    }

    @Test func unitsAreReadFromNames() {
        #expect(InterfaceUnit("fwd-a.100") == InterfaceUnit(port: "fwd-a", unit: 100))
        #expect(InterfaceUnit("fwd-a.0") == InterfaceUnit(port: "fwd-a", unit: 0), "unit 0 is the whole port")
        #expect(InterfaceUnit("fwd-a") == InterfaceUnit(port: "fwd-a", unit: 0))
        #expect(InterfaceUnit("v1.2.x") == InterfaceUnit(port: "v1.2.x", unit: 0), "not digits after the last dot: a name")
        #expect(InterfaceUnit(".5") == InterfaceUnit(port: ".5", unit: 0))
        #expect(InterfaceUnit("fwd-a.4095") == nil)
    }

    @Test func aUnitZeroIsTheWholePortForDuplicates() {
        let error = #expect(throws: ConfigError.self) {
            try ConfigParser.parse("""
                set forwarding-options port-mirroring instance s1 input ingress interface fwd-a
                set forwarding-options port-mirroring instance s1 output interface o1
                set forwarding-options port-mirroring instance s2 input ingress interface fwd-a.0
                set forwarding-options port-mirroring instance s2 output interface o2
                """)
        }
        #expect(error?.message.hasPrefix("interface fwd-a is an ingress of both instance s1") == true, "\(error?.message ?? "")")
    }
}
