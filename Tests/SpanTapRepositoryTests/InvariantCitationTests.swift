import Foundation
import SpanTapTestSupport
import Testing

/// docs/INVARIANTS.md is the numbered list the code cites ("invariant 8"): every number cited
/// under Sources/ must be there, and every test it names as a check must exist.
@Suite struct InvariantCitationTests {
    static let invariants = packageRoot.appendingPathComponent("docs/INVARIANTS.md")

    /// The numbers of the `## N. Title` headings.
    static func listedNumbers() throws -> Set<Int> {
        let text = try String(contentsOf: invariants, encoding: .utf8)
        return Set(text.matches(of: #/(?m)^## (\d+)\. /#).compactMap { Int($0.1) })
    }

    /// Every Swift and C file under `folder`, with its text.
    static func sources(under folder: String, extensions: Set<String>) throws -> [(path: String, text: String)] {
        let root = packageRoot.appendingPathComponent(folder)
        let paths = try #require(FileManager.default.enumerator(atPath: root.path)).compactMap { $0 as? String }
        return try paths.filter { extensions.contains(URL(fileURLWithPath: $0).pathExtension) }.sorted().map { path in
            (folder + "/" + path, try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8))
        }
    }

    @Test func theListHasTheDesignsTenInvariants() throws {
        #expect(try Self.listedNumbers() == Set(1...10))
    }

    @Test func everyInvariantCitedInSourcesIsListed() throws {
        let listed = try Self.listedNumbers()
        var cited = 0
        for (path, text) in try Self.sources(under: "Sources", extensions: ["swift", "c", "h"]) {
            for match in text.matches(of: #/(?i)invariant\s+(\d+)/#) {
                cited += 1
                let number = try #require(Int(match.1))
                #expect(listed.contains(number), "\(path) cites invariant \(number), which docs/INVARIANTS.md does not list")
            }
        }
        #expect(cited >= 3, "the code cites invariants 6, 8 and 9 today; found \(cited) citations")
    }

    @Test func everyTestNamedAsACheckExists() throws {
        let text = try String(contentsOf: Self.invariants, encoding: .utf8)
        let named = text.matches(of: #/`(\w+\.swift): (\w+)`/#).map { (file: String($0.1), function: String($0.2)) }
        #expect(named.count >= 20, "docs/INVARIANTS.md names \(named.count) tests")
        let tests = try Self.sources(under: "Tests", extensions: ["swift"])
        for (file, function) in named {
            let candidates = tests.filter { $0.path.hasSuffix("/" + file) }
            #expect(!candidates.isEmpty, "docs/INVARIANTS.md names \(file), which is not under Tests/")
            #expect(candidates.contains { $0.text.contains("func \(function)(") },
                    "docs/INVARIANTS.md names \(file): \(function), which \(file) does not define")
        }
    }
}
