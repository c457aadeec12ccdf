import Foundation
import Glibc

/// A child left running in the background (spantapd, tcpdump, producers, pings: every one the tests
/// start; none uses Foundation's `Process`), started with posix_spawn like
/// `run` and for the same reason: corelibs Foundation's `Process` closes descriptors it does not
/// own (a `FileHandle` given as its output is closed twice), and under concurrent tests the second
/// close hits another test's freshly opened pipe (`cannot run sysctl: Bad file descriptor`).
public final class SpawnedProcess {
    public let processIdentifier: pid_t
    public let arguments: [String]
    /// The exit status once reaped (128 + signal when killed by one, as a shell says).
    private var status: Int32?

    /// Starts `arguments` with stdout and stderr appended to `output` (nil: /dev/null), with
    /// `environment` added to this process's.
    public init(_ arguments: [String], output: String? = nil, environment: [String: String] = [:]) throws {
        let fd = open(output ?? "/dev/null", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CommandFailure(command: arguments, status: -1, output: "open \(output ?? "/dev/null"): errno \(errno)") }
        defer { close(fd) }
        self.arguments = arguments
        let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        processIdentifier = try spawn(arguments, redirecting: [(fd, 1), (fd, 2)],
                                      environment: merged.map { "\($0.key)=\($0.value)" })
    }

    deinit {
        if isRunning {
            kill(processIdentifier, SIGKILL)
            _ = waitUntilExit()
        }
    }

    public var isRunning: Bool {
        guard status == nil else { return false }
        var raw: Int32 = 0
        guard waitpid(processIdentifier, &raw, WNOHANG) == processIdentifier else { return true }
        status = Self.exitStatus(raw)
        return false
    }

    /// The exit status, nil while it runs.
    public var terminationStatus: Int32? { isRunning ? nil : status }

    public func signal(_ number: Int32) { if status == nil { kill(processIdentifier, number) } }

    @discardableResult
    public func waitUntilExit() -> Int32 {
        if let status { return status }
        let exited = SpanTapTestSupport.exitStatus(of: processIdentifier)
        status = exited
        return exited
    }

    static func exitStatus(_ raw: Int32) -> Int32 {
        (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
    }
}
