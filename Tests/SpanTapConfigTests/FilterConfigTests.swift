import CLibPcap
import SpanTapConfig
import SpanTapFilter
import SpanTapRing
import SpanTapTestSupport
import Testing

/// `input filter` and Junos firewall filters: what the config compiles, checked by running the
/// programs over frames through spantap_filter.h and through libpcap's own pcap_offline_filter.
@Suite struct FilterConfigTests {
    /// The program's verdict for `frame`, asserted identical from both interpreters.
    static func verdict(_ program: FilterProgram, _ frame: [UInt8]) -> Bool {
        var instructions = program.instructions.map { bpf_insn(code: $0.code, jt: $0.jt, jf: $0.jf, k: $0.k) }
        let theirs = instructions.withUnsafeMutableBufferPointer { insns in
            var bpf = bpf_program(bf_len: UInt32(insns.count), bf_insns: insns.baseAddress)
            var header = pcap_pkthdr()
            header.caplen = UInt32(frame.count)
            header.len = UInt32(frame.count)
            return frame.withUnsafeBufferPointer { pcap_offline_filter(&bpf, &header, $0.baseAddress) }
        }
        let ours = program.accepts(frame)
        #expect(ours == (theirs != 0), "spantap_filter.h and pcap_offline_filter disagree")
        return ours
    }

    static let web = IPFrames.frame(source: [10, 1, 2, 3], destination: [192, 168, 1, 1], .tcp(source: 40000, destination: 443))

    @Test func inputFilterInBothForms() throws {
        let hierarchical = try ConfigParser.parse(contentsOf: ConfigCorpusTests.corpus.appendingPathComponent("valid/filter.conf").path)
        let flat = try ConfigParser.parse("""
            set forwarding-options port-mirroring instance web input filter "tcp port 443 and net 10.0.0.0/8"
            set forwarding-options port-mirroring instance web input maximum-packet-length 128
            set forwarding-options port-mirroring instance web input ingress interface fwd-a
            set forwarding-options port-mirroring instance web output interface span0
            set forwarding-options analyzer dns input filter "udp port 53 or vlan 100"
            set forwarding-options analyzer dns input ingress interface fwd-b
            set forwarding-options analyzer dns input egress interface fwd-b
            set forwarding-options analyzer dns output interface span1
            """)
        #expect(hierarchical == flat)
        let filter = try #require(flat.instances[0].filter)
        #expect(filter.expression == "tcp port 443 and net 10.0.0.0/8")
        #expect(filter.program == (try FilterCompiler.compile("tcp port 443 and net 10.0.0.0/8", snapLength: 128)))
        #expect(filter.program.instructions.contains { $0.code == 6 && $0.k == 128 }, "the snap length is the accepting return")
        #expect(Self.verdict(filter.program, Self.web))
        #expect(!Self.verdict(filter.program, IPFrames.frame(source: [11, 1, 2, 3], destination: [192, 168, 1, 1], .tcp(source: 1, destination: 443))))
        #expect(flat.instances[1].filter(for: "fwd-b", .egress)?.expression == "udp port 53 or vlan 100")
        #expect(flat.instances[1].filter?.program.instructions.contains { $0.code == 6 && UInt32($0.k) == 262_144 } == true)
    }

    /// The case: an earlier `accept` shadows part of a later mirror term, a third term goes
    /// to another instance. Expected verdicts are what Junos's first-match order says.
    @Test func firstMatchingTermDecides() throws {
        let config = try ConfigParser.parse(contentsOf: ConfigCorpusTests.corpus.appendingPathComponent("valid/firewall.conf").path)
        let web = try #require(config.instances.first { $0.name == "web" }?.firewallSelections.first { $0.interface == "fwd-a" })
        let dns = try #require(config.instances.first { $0.name == "dns" }?.firewallSelections.first { $0.interface == "fwd-a" })
        #expect(web.direction == .ingress && web.firewallFilters == ["inet pick", "inet6 pick6"])
        #expect(dns.firewallFilters == ["inet pick", "inet6 pick6"])

        let v6 = (0..<16).map { UInt8($0 == 0 ? 0x20 : $0 == 1 ? 0x01 : $0 == 2 ? 0x0d : $0 == 3 ? 0xb8 : $0 == 15 ? 1 : 0) }
        let other6 = [UInt8](repeating: 0, count: 15) + [2]
        let cases: [(String, [UInt8], web: Bool, dns: Bool)] = [
            ("internal https: accepted by term 1, never mirrored", Self.web, false, false),
            ("internal http", IPFrames.frame(source: [10, 1, 9, 9], destination: [8, 8, 8, 8], .tcp(source: 5, destination: 80)), false, false),
            ("internal 8080: not term 1, term 2", IPFrames.frame(source: [10, 1, 2, 3], destination: [8, 8, 8, 8], .tcp(source: 5, destination: 8080)), true, false),
            ("external https: term 2", IPFrames.frame(source: [10, 2, 0, 1], destination: [8, 8, 8, 8], .tcp(source: 5, destination: 443)), true, false),
            ("dns from inside: term 3", IPFrames.frame(source: [10, 1, 2, 3], destination: [8, 8, 8, 8], .udp(source: 5000, destination: 53)), false, true),
            ("dns answer: term 3 (port is either side)", IPFrames.frame(source: [8, 8, 8, 8], destination: [10, 2, 2, 2], .udp(source: 53, destination: 5000)), false, true),
            ("udp 443: no term", IPFrames.frame(source: [10, 2, 0, 1], destination: [8, 8, 8, 8], .udp(source: 5, destination: 443)), false, false),
            ("ssh: no term", IPFrames.frame(source: [10, 2, 0, 1], destination: [8, 8, 8, 8], .tcp(source: 5, destination: 22)), false, false),
            ("icmp: no term", IPFrames.frame(source: [10, 2, 0, 1], destination: [8, 8, 8, 8], .icmp), false, false),
            ("https tagged on unit 0: not family inet of unit 0", IPFrames.frame(source: [10, 2, 0, 1], destination: [8, 8, 8, 8], .tcp(source: 5, destination: 443), vlan: 7), false, false),
            ("IPv6 https to 2001:db8::/32: inet6 filter", IPFrames.frame(source: other6, destination: v6, .tcp(source: 5, destination: 443)), true, false),
            ("IPv6 https elsewhere", IPFrames.frame(source: v6, destination: other6, .tcp(source: 5, destination: 443)), false, false),
            ("IPv6 dns: the inet6 filter has no dns term", IPFrames.frame(source: v6, destination: v6, .udp(source: 5, destination: 53)), false, false),
        ]
        for (what, frame, expectWeb, expectDNS) in cases {
            #expect(Self.verdict(web.filter.program, frame) == expectWeb, "web: \(what)")
            #expect(Self.verdict(dns.filter.program, frame) == expectDNS, "dns: \(what)")
        }
    }

    /// A unit's filter sees only frames tagged with its VLAN id; `output` selects egress.
    @Test func unitsAndEgress() throws {
        let config = try ConfigParser.parse(contentsOf: ConfigCorpusTests.corpus.appendingPathComponent("valid/firewall.conf").path)
        let web = try #require(config.instances.first { $0.name == "web" }?.firewallSelections.first { $0.interface == "fwd-b.100" })
        #expect(web.direction == .egress && web.filter.expression.hasPrefix("(vlan 100) and "))
        let https = { (vlan: UInt16?) in IPFrames.frame(source: [10, 2, 0, 1], destination: [8, 8, 8, 8], .tcp(source: 5, destination: 443), vlan: vlan) }
        #expect(Self.verdict(web.filter.program, https(100)))
        #expect(!Self.verdict(web.filter.program, https(200)))
        #expect(!Self.verdict(web.filter.program, https(nil)))
        #expect(config.instances.first { $0.name == "web" }?.filter(for: "fwd-b.100", .egress) == web.filter)
        #expect(config.instances.first { $0.name == "web" }?.filter(for: "fwd-b.100", .ingress) == nil)
    }

    /// `port-mirror` is the one port-mirroring instance; an instance's own `input filter` narrows
    /// what its firewall selection mirrors.
    @Test func portMirrorAndTheInstancesOwnFilter() throws {
        let config = try ConfigParser.parse("""
            set forwarding-options port-mirroring instance only input filter "src host 10.9.9.9"
            set forwarding-options port-mirroring instance only output interface span0
            set forwarding-options analyzer a input ingress interface fwd-z
            set forwarding-options analyzer a output interface span1
            set firewall family inet filter f term t from protocol [ tcp udp ]
            set firewall family inet filter f term t from source-port 1024-65535
            set firewall family inet filter f term t then port-mirror
            set interfaces fwd-a unit 0 family inet filter input f
            """)
        let selection = try #require(config.instances[0].firewallSelections.first)
        let frame = { (source: [UInt8], port: UInt16) in IPFrames.frame(source: source, destination: [1, 1, 1, 1], .udp(source: port, destination: 53)) }
        #expect(Self.verdict(selection.filter.program, frame([10, 9, 9, 9], 5353)))
        #expect(!Self.verdict(selection.filter.program, frame([10, 9, 9, 9], 53)), "source port below the range")
        #expect(!Self.verdict(selection.filter.program, frame([10, 9, 9, 8], 5353)), "the instance's own filter")
        #expect(config.instances[1].firewallSelections.isEmpty)
    }

    /// Every value form Junos writes compiles, and means what it says.
    @Test func everyConditionForm() throws {
        let config = try ConfigParser.parse("""
            forwarding-options { port-mirroring { instance m { output { interface span0; } } } }
            firewall {
                family inet {
                    filter v4 {
                        term esp-ah { from { protocol 50-51; address 0.0.0.0/0; } then { port-mirror-instance m; discard; } }
                        term hosts {
                            from {
                                destination-address { 192.0.2.1/32; 198.51.100.0/24; }
                                protocol [ udp 132 ];
                                destination-port [ ntp snmp 5000-5010 ];
                            }
                            then port-mirror;
                        }
                    }
                }
                family inet6 {
                    filter v6 {
                        term t { from { next-header [ tcp icmp6 ]; source-address 2001:db8::1/128; } then port-mirror; }
                    }
                }
            }
            interfaces { fwd-a { unit 7 { family inet { filter { input v4; } } family inet6 { filter { input v6; } } } } }
            """)
        let program = try #require(config.instances.first?.firewallSelections.first).filter.program
        let a: [UInt8] = [10, 0, 0, 1]
        let host6 = [UInt8](repeating: 0, count: 15) + [1]
        var db8 = host6
        db8.replaceSubrange(0..<4, with: [0x20, 0x01, 0x0d, 0xb8])
        let cases: [([UInt8], Bool)] = [
            (IPFrames.frame(source: a, destination: a, .other(50), vlan: 7), true),
            (IPFrames.frame(source: a, destination: a, .other(52), vlan: 7), false),
            (IPFrames.frame(source: a, destination: a, .other(51), vlan: 8), false),
            (IPFrames.frame(source: a, destination: [198, 51, 100, 9], .udp(source: 1, destination: 123), vlan: 7), true),
            (IPFrames.frame(source: a, destination: [198, 51, 100, 9], .udp(source: 1, destination: 5010), vlan: 7), true),
            (IPFrames.frame(source: a, destination: [198, 51, 100, 9], .tcp(source: 1, destination: 123), vlan: 7), false),
            (IPFrames.frame(source: a, destination: [192, 0, 2, 2], .udp(source: 1, destination: 161), vlan: 7), false),
            (IPFrames.frame(source: a, destination: [192, 0, 2, 1], .udp(source: 1, destination: 161), vlan: 7), true),
            (IPFrames.frame(source: db8, destination: host6, .tcp(source: 1, destination: 2), vlan: 7), true),
            (IPFrames.frame(source: db8, destination: host6, .icmp, vlan: 7), true),
            (IPFrames.frame(source: db8, destination: host6, .udp(source: 1, destination: 2), vlan: 7), false),
            (IPFrames.frame(source: host6, destination: db8, .tcp(source: 1, destination: 2), vlan: 7), false),
        ]
        for (index, (frame, expected)) in cases.enumerated() {
            #expect(Self.verdict(program, frame) == expected, "case \(index)")
        }
    }

    @Test func refusals() {
        func error(_ text: String) -> String? {
            (#expect(throws: ConfigError.self) { try ConfigParser.parse(text, file: "x.conf") })?.description
        }
        let base = """
            set forwarding-options port-mirroring instance a output interface span0
            set forwarding-options port-mirroring instance b output interface span1

            """
        #expect(error(base + "set firewall family inet filter f term t then port-mirror\nset interfaces fwd-a unit 0 family inet filter input f")
                == "x.conf:3:40: term t of filter f says port-mirror, but there are 2 port-mirroring instances; name one with port-mirror-instance NAME")
        #expect(error(base + "set firewall family inet filter f term t then { accept; }")?.hasPrefix("x.conf:3:") == true)
        #expect(error(base + "set firewall family inet filter f term t then accept\nset firewall family inet filter f term t then discard")
                == "x.conf:4:47: term t already says 'accept'; a term has one of accept or discard")
        #expect(error(base + "set firewall family inet filter f term t from protocol frobnicate")?.contains("'frobnicate' is not a protocol") == true)
        #expect(error(base + "set firewall family inet filter f term t from destination-port [ 80 443")
                == "x.conf:3:69: missing ']' closing the destination-port list after 'firewall family inet filter f term t from destination-port [ 80 443'")
        #expect(error(base + "set firewall family inet filter f term t from source-address 10.1.2.3/8")
                == "x.conf:3:62: '10.1.2.3/8' has bits set beyond its /8 prefix; write the network address")
        #expect(error(base + "set firewall family inet filter f term t then port-mirror-instance a\n"
                      + "set interfaces fwd-a unit 0 family inet filter input f\nset interfaces fwd-a unit 5 family inet filter input f")
                == "x.conf:5:54: port fwd-a is selected (ingress) both whole and by unit (fwd-a, fwd-a.5); select either the whole port or its units")
        #expect(error(base + "set firewall family inet filter f term t then port-mirror-instance a\n"
                      + "set firewall family inet filter g term t then port-mirror-instance b\n"
                      + "set interfaces fwd-a unit 0 family inet filter input f\nset interfaces fwd-a unit 0 family inet filter input g")
                == "x.conf:6:54: fwd-a already has family inet filter input f (line 5); a unit takes one filter per family and direction")
        #expect(error(base + "set interfaces fwd-a unit 4095 family inet filter input f")
                == "x.conf:3:27: unit must be a whole number from 0 to 4094, not '4095'")
    }
}
