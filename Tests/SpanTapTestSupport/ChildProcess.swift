import Foundation
import Glibc
import Synchronization

/// The package's root directory, so tests can find fixtures and headers in the source tree.
public let packageRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Builds a C test program with the project's strictness: C11, all warnings as errors, pedantic.
/// `flags` follow the source (libraries such as `-lpcap`, sanitizers).
public func compileC(_ source: URL, includeDirectories: [URL], output: URL, flags: [String] = []) throws {
    try run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2", "-pthread"]
        + includeDirectories.map { "-I\($0.path)" } + ["-o", output.path, source.path] + flags)
}

/// The build directory the tests run from (spantapd and spantap are there too).
public let buildDirectory = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "")
    .deletingLastPathComponent()

private let compiledFixtures = Mutex<[String: String]>([:])

/// Compiles a C file of the source tree (path relative to the package root) once per test run,
/// into the build directory, and returns the executable's path. The C ring header's directory is
/// on the include path; `flags` are added to the compiler's command line (one build per set of flags).
public func compiledFixture(_ relativePath: String, flags: [String] = []) throws -> String {
    try compiledFixtures.withLock { built in
        let key = ([relativePath] + flags).joined(separator: " ")
        if let path = built[key] { return path }
        let variant = flags.isEmpty ? "" : "-" + String(UInt32(truncatingIfNeeded: key.utf8.reduce(5381) { ($0 &* 33) ^ Int($1) }), radix: 16)
        let name = "fixture-" + relativePath.replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: ".c", with: "") + variant
        let output = buildDirectory.appendingPathComponent(name)
        try compileC(packageRoot.appendingPathComponent(relativePath),
                     includeDirectories: [packageRoot.appendingPathComponent("Sources/CSpanTapRing/include")], output: output,
                     flags: flags)
        built[key] = output.path
        return output.path
    }
}

/// Runs `path` with `descriptors[i]` as its fd 3 + i (how a ring's memfd and eventfd reach another
/// process in tests) and returns its exit status once it has finished.
public func runWithDescriptors(_ path: String, _ arguments: [String], descriptors: [Int32]) throws -> Int32 {
    exitStatus(of: try spawn([path] + arguments, redirecting: descriptors.enumerated().map { ($1, Int32(3 + $0)) }))
}
