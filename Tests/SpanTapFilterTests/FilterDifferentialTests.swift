import Foundation
import SpanTapTestSupport
import Testing

/// libpcap's own interpreter is the judge: Tests/Fixtures/filter/expressions.txt compiled by
/// libpcap and run over the generated frames through pcap_offline_filter and spantap_filter.h must
/// return the same value for every frame (filter_differential.c does the comparing, under
/// AddressSanitizer and UBSan).
@Suite struct FilterDifferentialTests {
    static let directory = "Tests/Fixtures/filter"
    static let sanitizers = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g"]

    @Test func libpcapAndSpanTapAgreeOnEveryFrame() throws {
        let frames = buildDirectory.appendingPathComponent("filter-frames.pcap").path
        let verdicts = buildDirectory.appendingPathComponent("filter-verdicts.tsv").path
        try run(try compiledFixture("\(Self.directory)/filter_frames.c"), frames)
        // The operators' tool reads the fixture as a normal Ethernet capture of every frame.
        let listing = try run("tcpdump", "-nn", "-r", frames)
        #expect(listing.split(separator: "\n").filter { $0.hasPrefix("00:00:") }.count == 2400)

        let expressions = packageRoot.appendingPathComponent("\(Self.directory)/expressions.txt").path
        let differential = try compiledFixture("\(Self.directory)/filter_differential.c", flags: Self.sanitizers + ["-lpcap"])
        let output = try run(differential, expressions, frames, verdicts)
        let summary = try #require(output.split(separator: "\n").last)
        #expect(summary == "expressions=58 frames=2400 failures=0", "\(output)")

        // One verdict line per expression, one verdict per frame, for other implementations.
        let lines = try String(contentsOfFile: verdicts, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 58)
        #expect(lines.allSatisfy { $0.split(separator: "\t").last?.count == 2400 })
        let https = try #require(lines.first { $0.hasPrefix("tcp port 443 and net 10.0.0.0/8\t") })
        #expect(https.split(separator: "\t")[1].hasPrefix("20,"), "libpcap 1.10 optimizes it to 20 instructions")
    }

    @Test func theFrameMixHasEveryKindTheIssueAsksFor() throws {
        let frames = buildDirectory.appendingPathComponent("filter-frames-mix.pcap").path
        try run(try compiledFixture("\(Self.directory)/filter_frames.c"), frames)
        func count(_ expression: String) throws -> Int {
            try run(["tcpdump", "-nn", "-r", frames, expression]).split(separator: "\n").filter { $0.hasPrefix("00:00:") }.count
        }
        for expression in ["tcp", "udp", "icmp", "ip6 and tcp", "ip6 and udp", "icmp6", "vlan", "vlan and vlan", "arp"] {
            #expect(try count(expression) > 20, "\(expression)")
        }
        // Truncated captures and runts: tcpdump marks what it cannot decode.
        let listing = try run("tcpdump", "-nn", "-r", frames)
        #expect(listing.split(separator: "\n").filter { $0.contains("[|") || $0.contains("truncated") }.count > 50)
        #expect(listing.split(separator: "\n").filter { $0.contains("length 1:") || $0.contains("length 2:") }.count > 0)
    }
}
