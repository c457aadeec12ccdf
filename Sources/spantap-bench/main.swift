import ArgumentParser
import Glibc
import SpanTapLink

// spantap-bench: the measuring half of the benchmark harness (Benchmarks/harness, run by
// scripts/bench.sh, which builds the labs, runs the load generators and renders the table). Each
// subcommand measures one thing and prints its results as JSON lines (`spantap-bench help SUB`).

struct SpanTapBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spantap-bench",
        abstract: "SpanTap's benchmark probes (docs/BENCHMARKS.md); results as JSON lines on stdout.",
        subcommands: [Sink.self, Hook.self, Forward.self, HoldTap.self])
}

/// Row 4: a TAP with an fd open (the kernel mirror's target), until SIGTERM.
struct HoldTap: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Row 4: hold a TAP open until SIGTERM.")
    @Option(help: "The TAP to create.")
    var tap: String

    func run() throws {
        blockStopSignals()
        let output = try TapOutput.create(name: tap, configuration: TapConfiguration(mtu: 2000), control: LinkControl())
        emit(["event": "ready"])
        waitForStopSignal()
        try output.remove()
    }
}

SpanTapBench.main()
