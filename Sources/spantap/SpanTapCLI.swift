import ArgumentParser
import Foundation
import SpanTapControl

struct SpanTapCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spantap",
        abstract: "Talk to spantapd: show counters, reload the config, apply a forwarder snapshot, capture to pcapng.",
        version: SpanTapVersion.current,
        subcommands: [Status.self, Reload.self, Apply.self, Capture.self])

    /// Lets `--control-socket PATH` stand before the subcommand too (`spantap --control-socket
    /// /tmp/s.sock status`), as operators type it; argument-parser reads it after the subcommand.
    /// A bare `--watch` (no seconds after it) means every second.
    static func hoistingGlobalOptions(_ arguments: [String]) -> [String] {
        var arguments = arguments
        if let watch = arguments.firstIndex(of: "--watch"),
           watch + 1 == arguments.count || Double(arguments[watch + 1]) == nil {
            arguments.insert("1", at: watch + 1)
        }
        guard arguments.count >= 3, arguments[0] == "--control-socket" else { return arguments }
        return [arguments[2], arguments[0], arguments[1]] + arguments[3...]
    }

    struct Connection: ParsableArguments {
        @Option(help: "spantapd's control socket.")
        var controlSocket = ControlClient.defaultPath

        /// Sends one request; prints the daemon's error and exits 1 if it refused.
        func send(_ request: ControlRequest) throws -> ControlResponse {
            let response: ControlResponse
            do {
                response = try ControlClient(path: controlSocket).send(request).0
            } catch {
                fail("\(error)")
            }
            guard response.ok else { fail(response.error ?? "request failed") }
            return response
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show instances, bindings, producers and their counters.")
        @OptionGroup var connection: Connection
        @Flag(help: "Print the daemon's JSON instead of a table.")
        var json = false
        @Option(help: ArgumentHelp("Refresh every SECONDS (default 1) with per-second rates, until Ctrl-C.", valueName: "seconds"))
        var watch: Double?

        func run() throws {
            if let watch {
                guard watch > 0 else { throw ValidationError("--watch wants a positive number of seconds") }
                try StatusWatch(interval: watch) {
                    guard let status = try connection.send(.status).status else { fail("spantapd sent no status") }
                    return status
                }.run()
            }
            let response = try connection.send(.status)
            guard let status = response.status else { fail("spantapd sent no status") }
            if json {
                print(String(decoding: try ControlCodec.encodeLine(status).dropLast(), as: UTF8.self))
            } else {
                print(StatusTable(status).render(), terminator: "")
            }
        }
    }

    struct Reload: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-read the config file; a bad file changes nothing.")
        @OptionGroup var connection: Connection

        func run() throws {
            print(try connection.send(.reload).message ?? "reloaded")
        }
    }

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace the mirror table with a forwarder snapshot: {\"mirror_configs\":[{\"ingress_ifindex\":7,\"output_ifindex\":9,\"rate\":10}]}.")
        @OptionGroup var connection: Connection
        @Argument(help: "JSON file with the snapshot ('-' for standard input).")
        var file: String

        func run() throws {
            let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
            let snapshot: ForwarderSnapshot
            do {
                snapshot = try ControlCodec.decode(ForwarderSnapshot.self, from: Array(data))
            } catch {
                throw ValidationError("\(file): not a forwarder snapshot: \(ControlCodec.describe(error))")
            }
            print(try connection.send(.apply(snapshot)).message ?? "applied")
        }
    }
}

/// Runtime failures (daemon unreachable, request refused) are not usage errors: say what went
/// wrong on one line and exit 1, without the usage text.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("spantap: \(message)\n".utf8))
    SpanTapCLI.exit(withError: ExitCode(1))
}
