import Foundation
import Glibc

/// tcpdump writing a pcap file inside a namespace, read back frame by frame once stopped: how
/// an operator's capture on a remote collector sees the mirror, VLAN tags restored by libpcap.
///
/// Started with `--immediate-mode` and a 64 MiB buffer (the default 2 MiB loses frames of a burst
/// the sink writes in one io_uring batch) and waited for until it listens, so no frame sent after
/// `init` returns is missed. `stop()` ends it (tcpdump flushes the file on SIGTERM) and parses the file.
public final class PcapCapture {
    private let process: SpawnedProcess
    /// The pcap file, there until the capture is released: for tshark to read after `stop()`.
    public let file: URL
    private let log: URL

    /// - Parameters: `namespace`: where the interface is (nil: this test's own namespace, for a
    ///   uniquely named device), `filter`: a tcpdump filter expression, `direction`: "in", "out" or "inout".
    public init(namespace: String?, interface: String, direction: String = "inout", filter: [String] = []) throws {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory())
        file = directory.appendingPathComponent(uniqueName("p") + ".pcap")
        log = directory.appendingPathComponent(uniqueName("p") + ".log")
        process = try SpawnedProcess((namespace.map { ["ip", "netns", "exec", $0] } ?? [])
            + ["tcpdump", "--immediate-mode", "-U", "-n", "-B", "65536", "-Q", direction, "-i", interface, "-w", file.path] + filter,
            output: log.path)
        let listening = waitUntil(seconds: 5) {
            ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("listening on") || !process.isRunning
        }
        guard listening, process.isRunning else {
            let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            stopProcess()
            throw CommandFailure(command: process.arguments, status: -1, output: output)
        }
    }

    deinit {
        stopProcess()
        try? FileManager.default.removeItem(at: file)
        try? FileManager.default.removeItem(at: log)
    }

    /// Stops tcpdump and returns every frame it captured, in order.
    public func stop() throws -> [[UInt8]] {
        stopProcess()
        return try Self.frames(in: [UInt8](Data(contentsOf: file)))
    }

    private func stopProcess() {
        guard process.isRunning else { return }
        // SIGTERM, not SIGINT: a child of the test runner may inherit SIGINT ignored.
        process.signal(SIGTERM)
        if !waitUntil(seconds: 5, { !process.isRunning }) { process.signal(SIGKILL) }
        process.waitUntilExit()
    }

    /// The records of a classic little-endian pcap file (24-byte header, 16 bytes per record).
    static func frames(in bytes: [UInt8]) throws -> [[UInt8]] {
        func word(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 }
        guard bytes.count >= 24, word(0) == 0xa1b2_c3d4 else {
            throw CommandFailure(command: ["read pcap"], status: -1, output: "not a little-endian pcap file")
        }
        var frames: [[UInt8]] = []
        var offset = 24
        while offset + 16 <= bytes.count {
            let length = word(offset + 8)
            guard offset + 16 + length <= bytes.count else { break }
            frames.append(Array(bytes[(offset + 16)..<(offset + 16 + length)]))
            offset += 16 + length
        }
        return frames
    }
}
