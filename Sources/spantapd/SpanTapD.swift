import ArgumentParser
import Dispatch
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals
import SpanTapConfig
import SpanTapControl
import SpanTapDaemon

@main
struct SpanTapD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spantapd",
        abstract: "Port-mirroring sink: mirrored frames from AF_XDP forwarders to TAP devices.",
        discussion: """
            Signals: SIGHUP reloads the config (a bad file changes nothing); SIGTERM and SIGINT stop \
            cleanly: bindings detached, rings drained, TAPs spantapd created removed. Under systemd \
            (Type=notify) it reports READY=1, RELOADING=1 and STOPPING=1 on $NOTIFY_SOCKET.
            """,
        version: SpanTapVersion.current)

    @Option(help: "Config file (Junos-style port-mirroring statements).")
    var config = DaemonOptions.defaultConfigPath

    @Option(help: "Control socket path (mode 0600, root only; see --control-group).")
    var controlSocket = DaemonOptions.defaultControlSocketPath

    @Option(help: ArgumentHelp("A group (name or number) whose members may ask for status and run `spantap capture` without root: the socket becomes mode 0660 of that group.", valueName: "group"))
    var controlGroup: MonitorGroup?

    @Flag(help: "Validate the config and exit without touching the system.")
    var check = false

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    @Option(help: "Serve Prometheus metrics on IPV4:PORT, e.g. 127.0.0.1:9464 (off by default).")
    var metrics: String?

    @Option(help: "Slots per handoff ring (a power of two). Also the most slots an external producer may ask for.")
    var ringSlots = 4096

    @Option(help: "Bytes per ring slot, 32-byte record header included (a multiple of 64). Also the largest slot an external producer may ask for.")
    var ringSlotSize = 2048

    @Option(help: "Most external producers attached at once.")
    var maxProducers = 64

    @Option(help: "Most ring memory all external producers hold at once: bytes, or with a KiB/MiB/GiB suffix.")
    var maxRingMemory = ByteCount(bytes: 1 << 30)

    @Option(help: "Most `spantap capture` clients at once; more are refused.")
    var maxCaptures = 4

    @Option(help: "Most control connections open at once.")
    var maxControlConnections = 64

    @Option(help: "Seconds a control connection may go without completing a request (attached producers are exempt).")
    var controlIdleTimeout: Double = 10

    func run() async throws {
        let parsed: SpanTapConfig
        do {
            parsed = try ConfigParser.parse(contentsOf: config)
            // What only this machine can say (its CPUs), so --check fails where start would.
            try Daemon.checkCPUs(parsed)
        } catch {
            FileHandle.standardError.write(Data("spantapd: \(error)\n".utf8))
            throw ExitCode(1)
        }
        if check {
            print("\(config): OK, \(parsed.instances.count) mirror instance(s), \(parsed.dataplane.crossConnects.count) cross-connect(s)")
            return
        }
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "spantapd")
        // 0755 whatever the umask: the control server refuses a directory others can write.
        try FileManager.default.createDirectory(atPath: (controlSocket as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let options = DaemonOptions(configPath: config, controlSocketPath: controlSocket,
                                    ringSlots: ringSlots, ringSlotSize: ringSlotSize, maximumProducers: maxProducers,
                                    maximumRingMemory: maxRingMemory, maximumCaptures: maxCaptures,
                                    controlLimits: ControlLimits(maximumConnections: maxControlConnections,
                                                                 idleTimeout: controlIdleTimeout, monitorGroup: controlGroup?.gid))
        let service = DaemonService(options: options, config: parsed, metrics: metrics, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: logger))
        try await group.run()
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// `--control-group`: a group the system names, or a number (a group with no name is allowed:
/// membership is all the kernel checks).
struct MonitorGroup: ExpressibleByArgument {
    let gid: UInt32

    init?(argument: String) {
        if let entry = getgrnam(argument) {
            gid = entry.pointee.gr_gid
        } else if let number = UInt32(argument), number != UInt32.max {
            gid = number
        } else {
            return nil
        }
    }

}

extension ByteCount: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}

/// Runs the daemon until SIGTERM/SIGINT (graceful shutdown), reloading on SIGHUP meanwhile.
///
/// The daemon is made here, not before: ServiceGroup installs its signal handlers before it runs
/// services, so by the time the control socket exists a SIGTERM always means a clean shutdown.
struct DaemonService: Service {
    let options: DaemonOptions
    let config: SpanTapConfig
    let metrics: String?
    let logger: Logger

    func run() async throws {
        // Trap SIGHUP before anyone can find the daemon: its default action would kill it.
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let daemon: Daemon
        let endpoint: MetricsEndpoint?
        do {
            daemon = try Daemon(options: options, config: config, logger: logger)
            try daemon.start()
            endpoint = try metrics.map { try startMetrics(on: $0, daemon: daemon) }
            daemon.notifyReady()
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
        await cancelWhenGracefulShutdown {
            for await _ in hangups {
                logger.info("SIGHUP: reloading config")
                daemon.queue.async { _ = daemon.reload() }
            }
        }
        daemon.systemd.stopping()
        endpoint?.stop()
        daemon.stop()
    }

    private func startMetrics(on address: String, daemon: Daemon) throws -> MetricsEndpoint {
        let exporter = MetricsExporter()
        let endpoint = MetricsEndpoint(queue: DispatchQueue(label: "spantap.metrics")) {
            exporter.scrape(daemon.currentStatus())
        }
        let port = try endpoint.start(address: address)
        logger.info("serving metrics", metadata: ["address": "\(address)", "port": "\(port)"])
        return endpoint
    }
}
