import Foundation
import SpanTapConfig
import SpanTapTestSupport
import Testing

/// Every file under Corpus/: valid ones parse; each invalid one names, on its first line, the
/// exact `line:column message` its error must carry. Some hold bytes on purpose (NUL, control
/// bytes, invalid UTF-8), so the expectation line is read from the raw bytes.
@Suite struct ConfigCorpusTests {
    static let corpus = packageRoot.appendingPathComponent("Tests/SpanTapConfigTests/Corpus")

    /// The corpus files of `folder`; a missing folder is an error, never zero cases.
    static func files(_ folder: String) throws -> [String] {
        let directory = corpus.appendingPathComponent(folder)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        return names.filter { $0.hasSuffix(".conf") }.sorted().map { directory.appendingPathComponent($0).path }
    }

    /// The parameterized tests below pass vacuously on an empty corpus: this one does not.
    @Test func corpusHasCases() throws {
        let valid = try Self.files("valid"), invalid = try Self.files("invalid")
        #expect(valid.count >= 3, "Corpus/valid has \(valid.count) cases")
        #expect(invalid.count >= 10, "Corpus/invalid has \(invalid.count) cases")
    }

    @Test(arguments: try files("valid")) func validFileParses(path: String) throws {
        let config = try ConfigParser.parse(contentsOf: path)
        #expect(!config.instances.isEmpty)
    }

    @Test(arguments: try files("invalid")) func invalidFileFailsWhereItSays(path: String) throws {
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
        let expectation = try #require(text.split(separator: "\n").first?.split(separator: " ", maxSplits: 3))
        try #require(expectation.count == 4 && expectation[1] == "expect-error:", "first line must be '# expect-error: LINE:COL message'")
        let position = expectation[2].split(separator: ":").compactMap { Int($0) }
        let error = #expect(throws: ConfigError.self) { try ConfigParser.parse(contentsOf: path) }
        #expect(error?.file == path)
        #expect(error.map { [$0.line, $0.column] } == position, "\(error?.description ?? "no error")")
        #expect(error?.message == String(expectation[3]))
    }

    @Test func bothFormsMeanTheSame() throws {
        let hierarchical = try ConfigParser.parse(contentsOf: Self.corpus.appendingPathComponent("valid/hierarchical.conf").path)
        let flat = try ConfigParser.parse(contentsOf: Self.corpus.appendingPathComponent("valid/flat.conf").path)
        #expect(hierarchical == flat)

        var expected = SpanTapConfig()
        expected.instances = [MirrorInstance(name: "span1", rate: 10, maximumPacketLength: 128, ingress: ["fwd-a", "fwd-b"],
                                             output: MirrorOutput(interface: "span0"))]
        expected.dataplane.crossConnects = [Dataplane.CrossConnect(name: "wire0", interfaces: ["fwd-a", "fwd-b"])]
        #expect(hierarchical == expected)
    }

    @Test func mixedFormsQuotesAndPersistent() throws {
        let config = try ConfigParser.parse(contentsOf: Self.corpus.appendingPathComponent("valid/mixed.conf").path)
        #expect(config.instances.map(\.name) == ["span1", "span2"])
        #expect(config.instances[0].output == MirrorOutput(interface: "span0", persistent: true))
        #expect(config.instances[0].rate == 1)
        #expect(config.instances[1].rate == 64)
        #expect(config.instance(mirroring: "fwd-b")?.name == "span2")
        #expect(config.dataplane.xdpMode == .generic)
    }

    @Test func shippedExampleParses() throws {
        let config = try ConfigParser.parse(contentsOf: packageRoot.appendingPathComponent("etc/spantap.conf").path)
        #expect(config.instances.map(\.name) == ["span1"])
        #expect(config.instances.first?.output == MirrorOutput(interface: "span0"))
        #expect(config.dataplane.crossConnects.map(\.interfaces) == [["fwd-a", "fwd-b"]])
    }

    @Test func unreadableFileIsAClearError() {
        let error = #expect(throws: ConfigError.self) { try ConfigParser.parse(contentsOf: "/nonexistent/spantap.conf") }
        #expect(error?.description.hasPrefix("/nonexistent/spantap.conf:0:0: cannot read config") == true)
    }
}
