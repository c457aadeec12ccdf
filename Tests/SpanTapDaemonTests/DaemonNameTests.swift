import Foundation
import SpanTapTestSupport
import Testing

/// The names issue 8 found: whatever `spantapd --check` accepts must start, and what would not
/// start is refused by `--check` with file, line and column.
@Suite struct DaemonNameCheckTests {
    static let spantapd = DaemonLab.buildDirectory.appendingPathComponent("spantapd").path
    static let corpus = packageRoot.appendingPathComponent("Tests/SpanTapConfigTests/Corpus/invalid")

    @Test(arguments: [
        ("ifname-nul.conf", ":2:71: interface name 'sp\\u{0}an0' contains control character U+0000"),
        ("utf8-in-comment.conf", ":3:21: invalid UTF-8 byte 0xFF"),
    ])
    func checkRefusesWithLocation(file: String, expected: String) throws {
        let path = Self.corpus.appendingPathComponent(file).path
        let failure = #expect(throws: CommandFailure.self) { try run(Self.spantapd, "--config", path, "--check") }
        #expect(failure?.status == 1)
        #expect(failure?.output.hasPrefix("spantapd: \(path)\(expected)") == true, "\(failure?.output ?? "")")
    }

    @Test func checkRefusesAHugeInstanceName() throws {
        let lab = try DaemonLab(config: DaemonLab.config(instance: String(repeating: "x", count: 5000), ingress: ["fwd-a"], output: "span0"))
        defer { lab.cleanUp() }
        let failure = #expect(throws: CommandFailure.self) { try run(Self.spantapd, "--config", lab.configPath, "--check") }
        #expect(failure?.status == 1)
        #expect(failure?.output.contains(":1:48: instance name 'xxxxxxxxxxxxxxxx...' is 5000 bytes long; at most 64 are allowed") == true)
    }
}

@Suite(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct DaemonNameStartTests {
    /// The longest names `--check` allows: a 15-byte TAP shared by four instances with 64-byte
    /// names, whose names together would overflow the TAP's ifalias.
    @Test func longestAcceptedNamesStart() throws {
        let tap = String((uniqueName("long") + "xxxxxxxxxxxxxxx").prefix(15))
        let instances = (1...4).map { String(repeating: "i", count: 63) + "\($0)" }
        let lab = try DaemonLab(config: instances.map { DaemonLab.config(instance: $0, ingress: [uniqueName("in")], output: tap) }.joined())
        lab.interfaces = [tap]
        defer { lab.cleanUp() }
        #expect(try run(DaemonNameCheckTests.spantapd, "--config", lab.configPath, "--check").contains("OK, 4 mirror instance(s)"))
        try lab.start()
        #expect(try lab.status().instances.map(\.name) == instances)
        let alias = try String(contentsOfFile: "/sys/class/net/\(tap)/ifalias", encoding: .utf8)
        #expect(alias == "spantap: " + instances.prefix(3).joined(separator: ",") + ",+1 more\n")
    }
}
