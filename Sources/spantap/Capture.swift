import ArgumentParser
import Foundation
import SpanTapCapture
import SpanTapControl

extension SpanTapCLI {
    struct Capture: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the frames spantapd mirrors to pcapng, with the interface and direction each came from.",
            discussion: """
                Asks spantapd for a temporary capture output on the named instances (all if none). \
                Ends after -c frames, after --duration seconds, on Ctrl-C or SIGTERM, or when spantapd \
                ends the capture; the file then closes with one Interface Statistics Block per interface.
                """)
        @OptionGroup var connection: Connection
        @Argument(help: "Mirror instances to capture (default: every instance).")
        var instances: [String] = []
        @Option(name: .customShort("w"), help: ArgumentHelp("pcapng file to write; '-' writes to standard output.", valueName: "file"))
        var file: String
        @Option(name: .customShort("c"), help: ArgumentHelp("Stop after this many frames.", valueName: "count"))
        var count: UInt64?
        @Option(help: ArgumentHelp("Stop after this many seconds.", valueName: "seconds"))
        var duration: Double?

        func validate() throws {
            if let count, count == 0 { throw ValidationError("-c wants at least 1 frame") }
            if let duration, !(duration > 0) { throw ValidationError("--duration wants a positive number of seconds") }
        }

        func run() throws {
            let client: ControlClient, response: ControlResponse, received: Int32?
            do {
                client = try ControlClient(path: connection.controlSocket)
                let reply = try client.send(.capture(CaptureRequest(instances: instances)))
                (response, received) = (reply.0, reply.1.first?.rawValue)
            } catch {
                fail("\(error)")
            }
            guard response.ok else { fail(response.error ?? "capture refused") }
            guard let report = response.capture, let socket = received else { fail("spantapd sent no capture socket") }
            let output: Int32
            if file == "-" {
                output = STDOUT_FILENO
            } else {
                output = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
                guard output >= 0 else { fail("open \(file): \(String(cString: strerror(errno)))") }
            }
            var session = CaptureSession(report: report, socket: socket, output: output, limit: count,
                                         deadline: duration.map { Date().addingTimeInterval($0) })
            session.run()
            let final = (try? client.send(.captureStop).0.capture) ?? nil
            if final != nil { session.drainQueued() }
            session.finish(final: final)
            if output != STDOUT_FILENO { close(output) }
            close(socket)
            let note = "spantap: \(session.written) frames written"
                + (final.map { ", \($0.frames) selected for this capture, \($0.drops) dropped on the way to it" } ?? "; spantapd gave no final counts")
            FileHandle.standardError.write(Data((note + "\n").utf8))
            if session.outputFailed { throw ExitCode(1) }
        }
    }
}
