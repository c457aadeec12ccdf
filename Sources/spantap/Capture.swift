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

                -C, -G and -W rotate files as tcpdump's do, and with tcpdump's names. Each file is \
                a complete pcapng file: its own Section Header Block, every Interface Description \
                Block, and one Interface Statistics Block per interface. A file closed by rotation \
                counts the frames it holds (isb_ifrecv = isb_usrdeliv) and has no isb_ifdrop: drops \
                are not known per file, so the last file carries all of them, and its isb_ifrecv is \
                what spantapd selected less what the earlier files hold. With both -C and -G, the \
                -C count starts again in each -G interval and -W only numbers and rings it.
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
        @Option(name: .customShort("C"), help: ArgumentHelp(
            "Before a frame would take the file over this many millions of bytes (its closing statistics included), "
                + "close it and go on in <file>1, <file>2, ...", valueName: "megabytes"),
                transform: positive("-C", "megabytes (1,000,000 bytes each)"))
        var fileSize: Int?
        @Option(name: .customShort("G"), help: ArgumentHelp(
            "Go on in a new file every this many seconds; <file> may hold strftime(3) conversions (%Y%m%d-%H%M%S), "
                + "expanded at the local time each interval begins.", valueName: "seconds"),
                transform: positive("-G", "seconds"))
        var rotateSeconds: Int?
        @Option(name: .customShort("W"), help: ArgumentHelp(
            "With -C: at most this many files, <file>0 ... zero-padded to the digits of count-1, reused in a ring. "
                + "With -G alone: stop after this many files.", valueName: "count"),
                transform: positive("-W", "files"))
        var fileCount: Int?

        /// tcpdump 4.99 takes whole numbers only for these (its -G truncates a fraction; refused here).
        static func positive(_ option: String, _ unit: String) -> @Sendable (String) throws -> Int {
            { text in
                guard let value = Int(text), value > 0 else { throw ValidationError("\(option) wants a positive whole number of \(unit)") }
                return value
            }
        }

        func validate() throws {
            if let count, count == 0 { throw ValidationError("-c wants at least 1 frame") }
            if let duration, !(duration > 0) { throw ValidationError("--duration wants a positive number of seconds") }
            if let fileSize, fileSize > Int.max / 1_000_000 { throw ValidationError("-C \(fileSize): more bytes than a file offset holds") }
            if file == "-", fileSize != nil || rotateSeconds != nil || fileCount != nil {
                throw ValidationError("-C, -G and -W rotate files: they cannot be used with -w - (standard output)")
            }
            if fileCount != nil, fileSize == nil, rotateSeconds == nil {
                throw ValidationError("-W needs -C or -G: it limits the files they make")
            }
        }

        /// nil without -C and -G: one file, named as given.
        var rotation: CaptureFileRotation? {
            guard fileSize != nil || rotateSeconds != nil else { return nil }
            return CaptureFileRotation(template: file, sizeLimit: fileSize.map { UInt64($0) * 1_000_000 },
                                       interval: rotateSeconds, fileLimit: fileCount, now: time(nil))
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
            var session = CaptureSession(report: report, socket: socket, path: file, rotation: rotation, limit: count,
                                         deadline: duration.map { Date().addingTimeInterval($0) })
            session.run()
            let final = (try? client.send(.captureStop).0.capture) ?? nil
            if final != nil { session.drainQueued() }
            session.finish(final: final)
            close(socket)
            let files = session.output.filesOpened
            let note = "spantap: \(session.written) frames written" + (files > 1 ? " (\(files) files opened)" : "")
                + (final.map { ", \($0.frames) selected for this capture, \($0.drops) dropped on the way to it" } ?? "; spantapd gave no final counts")
                + (session.output.reachedFileLimit ? "; stopped after -W \(fileCount ?? 0) files" : "")
            FileHandle.standardError.write(Data((note + "\n").utf8))
            if let failure = session.output.failure {
                FileHandle.standardError.write(Data("spantap: \(failure)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}
