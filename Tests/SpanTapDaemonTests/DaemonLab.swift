import Foundation
import Glibc
import SpanTapControl
import SpanTapTestSupport

/// A real spantapd process with its own config, control socket and log in a temporary directory.
/// `cleanUp()` kills it if still running and removes the test's interfaces, also after failures.
final class DaemonLab {
    /// Where spantapd is: `SPANTAP_BIN_DIR` (scripts/test.sh points it at the release build, so
    /// the integration scenarios run against what ships), else beside the test binary.
    static let buildDirectory = ProcessInfo.processInfo.environment["SPANTAP_BIN_DIR"].map { URL(fileURLWithPath: $0) }
        ?? SpanTapTestSupport.buildDirectory
    let directory: URL
    let configPath: String
    let socketPath: String
    let logPath: String
    /// Interfaces this lab may leave behind (TAPs, veths), removed by `cleanUp()`.
    var interfaces: [String] = []
    /// Added to spantapd's environment (e.g. NOTIFY_SOCKET).
    var environment: [String: String] = [:]
    /// A command spantapd runs under, e.g. `setpriv` limiting its capabilities.
    var launcher: [String] = []
    private(set) var process: SpawnedProcess?

    init(config: String) throws {
        directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(uniqueName("d"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        configPath = directory.appendingPathComponent("spantap.conf").path
        socketPath = directory.appendingPathComponent("spantapd.sock").path
        logPath = directory.appendingPathComponent("spantapd.log").path
        try writeConfig(config)
    }

    /// Writes `text` as spantapd's config, with `set sink scheduling normal` after it unless it
    /// says a scheduling class itself: the suites run side by side on 2 vCPUs, and a daemon whose
    /// slow path is SCHED_IDLE (the default) gets no CPU while another test's trafgen or build
    /// holds both, so its control socket could stall for seconds (CI: a hostile producer's attach
    /// reply never came, a restart's producers were not back in time). The default class itself is
    /// ThreadPlacementTests' and bench row 3b's subject. Appended, so the lines of `text` keep
    /// their numbers.
    func writeConfig(_ text: String) throws {
        let scheduled = text.contains("scheduling") ? text : text + (text.hasSuffix("\n") || text.isEmpty ? "" : "\n")
            + "set sink scheduling normal\n"
        try scheduled.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Starts spantapd and waits (at most 10 s) until `ready` holds, by default until its control
    /// socket answers.
    func start(extraArguments: [String] = [], until ready: (() -> Bool)? = nil) throws {
        let daemon = [Self.buildDirectory.appendingPathComponent("spantapd").path, "--config", configPath,
                      "--control-socket", socketPath, "--ring-slots", "1024"] + extraArguments
        let command = launcher + daemon
        let process = try SpawnedProcess(command, output: logPath, environment: environment)
        self.process = process
        let ready = ready ?? { (try? ControlClient(path: self.socketPath).send(.status).0.ok) == true }
        guard waitUntil(seconds: 10, { ready() || !process.isRunning }),
              process.isRunning else {
            throw CommandFailure(command: command, status: process.terminationStatus ?? -1, output: log())
        }
    }

    func status() throws -> StatusReport {
        let (response, _) = try ControlClient(path: socketPath).send(.status)
        guard let status = response.status else { throw CommandFailure(command: ["status"], status: 1, output: response.error ?? "") }
        return status
    }

    func send(_ request: ControlRequest) throws -> ControlResponse {
        try ControlClient(path: socketPath).send(request).0
    }

    /// Sends `signal` and waits up to `seconds` for the exit; returns its status, nil if it did not exit.
    func stop(signal: Int32 = SIGTERM, seconds: Double = 5) -> Int32? {
        guard let process else { return nil }
        process.signal(signal)
        guard waitUntil(seconds: seconds, { !process.isRunning }) else { return nil }
        self.process = nil
        return process.terminationStatus
    }

    /// The port `--metrics IP:0` picked, from spantapd's log.
    /// The port `--metrics 127.0.0.1:0` got, from the log; the endpoint starts just after the
    /// control socket answers, so this waits up to 5 s for the line.
    func metricsPort() -> UInt16? {
        var port: UInt16?
        _ = waitUntil {
            port = log().split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("port=") }.flatMap { UInt16($0.dropFirst(5)) }
            return port != nil
        }
        return port
    }

    func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func cleanUp() {
        if let process, process.isRunning {
            process.signal(SIGKILL)
            process.waitUntilExit()
        }
        interfaces.forEach(removeLinkIfPresent)
        try? FileManager.default.removeItem(at: directory)
    }

    /// The common lab: one instance mirroring an ingress (a veth made for it, so it has an ifindex
    /// and its rule is in every ring's table) to a new TAP, daemon started. Returns the lab and the
    /// TAP's name; the caller defers `cleanUp()`.
    static func startedWithTap(rate: UInt32 = 1, extraArguments: [String] = []) throws -> (DaemonLab, String) {
        let tap = uniqueName("out"), ingress = try makeIngress()
        let lab = try DaemonLab(config: config(rate: rate, ingress: [ingress], output: tap))
        lab.interfaces = [tap, ingress]
        do {
            try lab.start(extraArguments: extraArguments)
        } catch {
            lab.cleanUp()
            throw error
        }
        return (lab, tap)
    }

    /// An interface to mirror: one end of a new veth pair (deleting it deletes both). Add it to
    /// `interfaces` so `cleanUp()` removes it.
    static func makeIngress() throws -> String {
        let name = uniqueName("in")
        try run("ip", "link", "add", name, "type", "veth", "peer", "name", name + "p")
        return name
    }

    static func config(instance: String = "span1", rate: UInt32 = 1, ingress: [String], output: String, persistent: Bool = false) -> String {
        ingress.map { "set forwarding-options port-mirroring instance \(instance) input ingress interface \($0)\n" }.joined()
            + "set forwarding-options port-mirroring instance \(instance) input rate \(rate)\n"
            + "set forwarding-options port-mirroring instance \(instance) output interface \(output)\n"
            + (persistent ? "set forwarding-options port-mirroring instance \(instance) output persistent\n" : "")
    }
}

/// Reads an interface's ifindex from sysfs; nil if it does not exist.
func ifindex(of name: String) -> Int32? {
    (try? String(contentsOfFile: "/sys/class/net/\(name)/ifindex", encoding: .utf8))
        .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
}

/// What the running spantapd holds, read from /proc, so tests can show an attack leaves nothing behind.
extension DaemonLab {
    var pid: Int32 { process?.processIdentifier ?? -1 }

    /// The open descriptors, from /proc/PID/fd.
    func openDescriptors() throws -> Int {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
        } catch {
            throw ProcUnreadable(path: "/proc/\(pid)/fd", why: "\(error)")
        }
    }

    /// Descriptors once spantapd has finished closing what clients left (the last status request's
    /// connection closes a moment after its reply): the same count twice, 200 ms apart.
    func settledDescriptors() throws -> Int {
        var last = try openDescriptors()
        while true {
            usleep(200_000)
            let now = try openDescriptors()
            if now == last { return now }
            last = now
        }
    }

    /// User + system CPU time so far, in seconds.
    func cpuSeconds() throws -> Double {
        let path = "/proc/\(pid)/stat"
        guard let stat = try? String(contentsOfFile: path, encoding: .utf8),
              let afterName = stat.lastIndex(of: ")") else { throw ProcUnreadable(path: path, why: "cannot read it") }
        // Fields after "(comm)": state is field 3, utime 14, stime 15.
        let fields = stat[stat.index(after: afterName)...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else {
            throw ProcUnreadable(path: path, why: "no utime/stime in \(stat)")
        }
        return Double(user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func residentKiB() throws -> Int {
        let path = "/proc/\(pid)/status"
        let status = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        guard let kib = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw ProcUnreadable(path: path, why: "no VmRSS line")
        }
        return kib
    }

    /// CPU spantapd used over the next `seconds`, as a fraction of one core.
    func cpuLoad(over seconds: Double = 1) throws -> Double {
        let before = try cpuSeconds(), start = monotonicSeconds()
        usleep(UInt32(seconds * 1_000_000))
        return (try cpuSeconds() - before) / (monotonicSeconds() - start)
    }
}

/// A /proc file of spantapd could not be read: the measurement fails instead of passing on a
/// made-up value.
struct ProcUnreadable: Error, CustomStringConvertible {
    let path: String
    let why: String
    var description: String { "cannot measure spantapd through \(path): \(why)" }
}
