import Foundation
import SpanTapTestSupport
import Testing

/// scripts/install.sh into a staging directory, the unit it installs checked by systemd's own
/// tools, and --uninstall taking back exactly what the install put there.
@Suite struct InstallTests {
    @Test func installsUnitConfigAndManPagesAndUninstallsToNothing() throws {
        let destdir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(uniqueName("inst"))
        try FileManager.default.createDirectory(at: destdir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: destdir) }
        // This `swift test` holds the package's build lock, and the script builds (a no-op once
        // scripts/test.sh has built release) through SwiftPM: it must not wait for that lock.
        let script = ["env", "SWIFTPM_FLAGS=--ignore-lock", packageRoot.appendingPathComponent("scripts/install.sh").path]
        try run(script + ["--destdir", destdir.path])

        let root = destdir.path
        for file in ["usr/local/bin/spantapd", "usr/local/bin/spantap", "usr/local/share/man/man8/spantapd.8",
                     "usr/local/share/man/man8/spantap.8", "usr/local/include/spantap/spantap_ring.h",
                     "usr/local/include/spantap/spantap_session.h", "usr/local/include/spantap/spantap_filter.h",
                     "etc/systemd/system/spantapd.service", "etc/spantap/spantap.conf"] {
            #expect(FileManager.default.fileExists(atPath: "\(root)/\(file)"), "\(file) not installed")
        }
        #expect(try String(contentsOfFile: "\(root)/usr/local/share/man/man8/spantapd.8", encoding: .utf8).contains("control-socket"))
        let unit = try String(contentsOfFile: "\(root)/etc/systemd/system/spantapd.service", encoding: .utf8)
        #expect(unit.contains("\nExecStart=/usr/local/bin/spantapd --config /etc/spantap/spantap.conf\n"))
        // The installed headers are enough to build a producer: the example, against them alone.
        try run("cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-pthread", "-I\(root)/usr/local/include/spantap",
                "-o", destdir.appendingPathComponent("producer").path,
                packageRoot.appendingPathComponent("Examples/c-producer/spantap_producer.c").path)
        try FileManager.default.removeItem(at: destdir.appendingPathComponent("producer"))

        // The unit as installed, ExecStart pointed at the staged binary (verify wants it to exist)
        // and man pages found where they were staged (verify runs man for Documentation=).
        let staged = destdir.appendingPathComponent("spantapd.service").path
        try unit.replacingOccurrences(of: "ExecStart=/usr/local/bin/", with: "ExecStart=\(root)/usr/local/bin/")
            .write(toFile: staged, atomically: true, encoding: .utf8)
        try run("env", "MANPATH=\(root)/usr/local/share/man", "systemd-analyze", "verify", staged)
        let security = try run("systemd-analyze", "security", "--offline=yes", staged)
        let score = try #require(security.split(separator: "\n").last { $0.contains("Overall exposure level") }?
            .split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) })
        #expect(score <= 4.0, "systemd-analyze security rates the unit \(score)")
        try FileManager.default.removeItem(atPath: staged)

        // A second install keeps an operator's config; uninstall removes everything else.
        let config = "\(root)/etc/spantap/spantap.conf"
        try "# the operator's own\n".write(toFile: config, atomically: true, encoding: .utf8)
        try run(script + ["--destdir", destdir.path])
        #expect(try String(contentsOfFile: config, encoding: .utf8) == "# the operator's own\n")
        try run(script + ["--destdir", destdir.path, "--uninstall"])
        #expect(try FileManager.default.subpathsOfDirectory(atPath: root).sorted() == ["etc", "etc/spantap", "etc/spantap/spantap.conf"])
        try FileManager.default.removeItem(atPath: "\(root)/etc")

        try run(script + ["--destdir", destdir.path])
        try run(script + ["--destdir", destdir.path, "--uninstall"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == [], "uninstall left files behind")
    }
}
