import Glibc
import SpanTapLink

// spantap-bench: the measuring half of scripts/bench.sh (which builds the labs, runs the load
// generators and prints the table). Each subcommand measures one thing and prints key=value lines.
//
//   sink     --tap T --size B [--slots N] [--seconds S]       row 1: SinkService, full rings -> TAP
//            [--io-uring on|off] [--queues Q] [--workers W] [--rings R]
//   hook     --variant none|unmirrored|rate:N --size B        row 2: ns/packet of the mirror hook
//            [--packets N] [--reps R] [--inline-consumer]
//   forward  --a IF --b IF --mirror off|live|stalled          rows 3, 5: cross-connect + mirror
//            [--rate N] [--tap T] [--slots N] [--pcap FILE]   (until SIGTERM)
//   hold-tap --tap T                                          row 4: a TAP with an fd, until SIGTERM

let arguments = CommandLine.arguments
guard arguments.count >= 2 else { fail("usage: spantap-bench sink|hook|forward|hold-tap [--option value ...]") }
let options = Options(arguments.dropFirst(2))
do {
    switch arguments[1] {
    case "sink": try sinkBench(options)
    case "hook": try hookBench(options)
    case "forward": try forwardBench(options)
    case "hold-tap":
        blockStopSignals()
        let tap = try TapOutput.create(name: options.string("tap"), configuration: TapConfiguration(mtu: 2000),
                                       control: LinkControl())
        print("ready")
        fflush(nil)
        waitForStopSignal()
        try tap.remove()
    default: fail("unknown subcommand \(arguments[1])")
    }
} catch {
    fail("\(error)")
}
