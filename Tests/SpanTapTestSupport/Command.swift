import CSpanTapSys
import Foundation
import Glibc

public struct CommandFailure: Error, CustomStringConvertible {
    public let command: [String]
    public let status: Int32
    public let output: String

    public init(command: [String], status: Int32, output: String) {
        self.command = command
        self.status = status
        self.output = output
    }

    public var description: String {
        "`\(command.joined(separator: " "))` exited \(status): \(output)"
    }
}

/// Runs a system tool (ip, tcpdump, ...) and returns its combined output; throws on non-zero exit.
@discardableResult
public func run(_ arguments: String...) throws -> String {
    try run(arguments)
}

/// Spawned with posix_spawn and read through a plain pipe, not Foundation's `Process` and `Pipe`:
/// under many concurrent tests, corelibs Foundation's `Process.run()` has crashed the whole test
/// process with EBADF in `FileHandle.synchronizeFile()` (swiftlang/swift#57827).
@discardableResult
public func run(_ arguments: [String]) throws -> String {
    var ends: [Int32] = [-1, -1]
    guard spantap_pipe_cloexec(&ends) == 0 else { throw CommandFailure(command: arguments, status: -1, output: "pipe2: errno \(errno)") }
    defer { close(ends[0]) }
    let pid: pid_t
    do {
        defer { close(ends[1]) }
        pid = try spawn(arguments, redirecting: [(ends[1], 1), (ends[1], 2)])
    }
    var data: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(ends[0], &chunk, chunk.count)
        if n > 0 { data += chunk[0..<n]; continue }
        if n < 0 && errno == EINTR { continue }
        break
    }
    let status = exitStatus(of: pid)
    let output = String(decoding: data, as: UTF8.self)
    guard status == 0 else { throw CommandFailure(command: arguments, status: status, output: output) }
    return output
}

/// Starts `arguments[0]` (looked up in PATH unless it has a slash) with each `(fd, target)` pair
/// dup2-ed onto target in the child and every descriptor above the highest target (and above 2)
/// closed, so the child holds exactly its stdio and those, whatever other tests' threads have open.
func spawn(_ arguments: [String], redirecting: [(fd: Int32, target: Int32)], environment: [String]? = nil) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for (fd, target) in redirecting { posix_spawn_file_actions_adddup2(&actions, fd, target) }
    spantap_spawn_close_from(&actions, max(3, (redirecting.map(\.target).max() ?? 0) + 1))
    let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    let envp: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup($0) } + [nil] }
    defer { envp?.forEach { free($0) } }
    var pid = pid_t()
    let spawned = envp.map { envp in envp.withUnsafeBufferPointer { posix_spawnp(&pid, arguments[0], &actions, nil, argv, $0.baseAddress) } }
        ?? posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
    guard spawned == 0 else {
        throw CommandFailure(command: arguments, status: spawned, output: "cannot run \(arguments[0]): \(String(cString: strerror(spawned)))")
    }
    return pid
}

/// Waits for `pid` and returns its exit status, or 128 + the signal that killed it (as a shell says).
func exitStatus(of pid: pid_t) -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return SpawnedProcess.exitStatus(status)
}
