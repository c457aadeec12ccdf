import Dispatch
import Logging
import SpanTapConfig
import SpanTapControl
import SpanTapFastPath
import SpanTapLink
import SpanTapRing
import SpanTapSink

/// spantapd's state and everything that changes it, confined to one serial queue: the config
/// in force, the outputs, the external producers, and the control socket serving them.
///
/// Changes follow one rule: validate everything first, then apply; a change that cannot be
/// applied completely is rolled back, so the running config is never half replaced.
// @unchecked: every mutable property is touched only on `queue` (see the type's comment).
public final class Daemon: @unchecked Sendable {
    public let queue = DispatchQueue(label: "spantap.daemon")
    let options: DaemonOptions
    let logger: Logger
    let control: LinkControl
    let sink: SinkService
    let outputs: OutputManager
    let geometry: RingGeometry
    private(set) var config: SpanTapConfig
    var producers: [Int: ExternalProducer] = [:]
    /// Producers quarantined since start, and the counters of every producer no longer attached.
    var producersQuarantined: UInt64 = 0
    var detachedProducerCounters = MirrorCounters()
    /// `spantap capture` clients, by control connection.
    var captures: [Int: ActiveCapture] = [:]
    var nextCaptureID = 1
    /// The forwarder's mirror table from `apply`, in force until the next reload.
    var forwarderSnapshot: ForwarderSnapshot?
    /// The compiled `filter` of each of its `mirror_configs` entries, in entry order.
    var forwarderFilters: [MirrorFilter?] = []
    /// The rules every ring's table carries now (bindings' and producers'), and the grant that
    /// confines external producers to them.
    var ringRules: [RingRule] = []
    /// The reference forwarder's cross-connects, by name.
    var crossConnects: [String: CrossConnectRunner] = [:]
    /// systemd's view of the daemon (Type=notify); a no-op when not run by systemd.
    public let systemd = SystemdNotifier()
    private var monitor: LinkMonitor?
    private var server: ControlServer?

    public init(options: DaemonOptions, config: SpanTapConfig, logger: Logger) throws {
        self.options = options
        self.config = SpanTapConfig()
        self.logger = logger
        XDPLibraryLogging.route(to: logger)
        geometry = try RingGeometry(slotCount: options.ringSlots, slotSize: options.ringSlotSize)
        control = try LinkControl()
        // How the sink writes (`sink { io-uring }`) is chosen here, once: a reload does not change it.
        sink = SinkService(workers: SinkService.defaultWorkerCount, ioUring: config.sink.ioUring, logger: logger)
        outputs = OutputManager(queue: queue, control: control, sink: sink, logger: logger,
                                deviceMTU: UInt32(geometry.slotCapacity - 14))
        try queue.sync { _ = try apply(config) }
    }

    /// Starts following links and serving the control socket.
    public func start() throws {
        try queue.sync {
            let monitor = try LinkMonitor(queue: queue) { [weak self] event in self?.linkChanged(event) }
            try monitor.start()
            self.monitor = monitor
            let server = ControlServer(path: options.controlSocketPath, limits: options.controlLimits, queue: queue, logger: logger,
                                       handler: { [unowned self] in self.handle($0, from: $1) },
                                       disconnected: { [unowned self] in
                                           self.detachProducer(connection: $0.connection)
                                           self.endCapture(connection: $0.connection)
                                       })
            try server.start()
            self.server = server
            placeThreads()
            logger.info("spantapd ready", metadata: ["control-socket": "\(options.controlSocketPath)",
                                                     "instances": "\(config.instances.count)", "ring": "\(geometry)"])
        }
    }

    /// Ordered shutdown: no new requests, bindings stopped (XDP detached), every ring drained
    /// into the outputs, outputs removed (TAPs deleted unless persistent), links no longer followed.
    public func stop() {
        queue.sync {
            server?.stop()
            server = nil
            for runner in crossConnects.values { runner.stop(sink: sink) }
            crossConnects.removeAll()
            for connection in producers.keys.sorted() { detachProducer(connection: connection) }
            for connection in captures.keys.sorted() { endCapture(connection: connection) }
            outputs.removeAll()
            monitor?.cancel()
            monitor = nil
            logger.info("spantapd stopped")
        }
    }

    /// Re-reads the config file; a file that does not parse, or outputs that cannot be set up,
    /// leave the running config exactly as it was.
    public func reload() -> ControlResponse {
        dispatchPrecondition(condition: .onQueue(queue))
        systemd.reloading()
        // A refused reload leaves the old config running, which is as ready as before.
        defer { systemd.ready(status: self.summary) }
        do {
            let newConfig = try ConfigParser.parse(contentsOf: options.configPath)
            let summary = try apply(newConfig, replacingSnapshot: true)
            logger.info("config reloaded", metadata: ["changes": "\(summary)"])
            return ControlResponse(message: summary)
        } catch {
            logger.error("reload refused; the running config stays", metadata: ["error": "\(error)"])
            return .failure("reload refused, running config unchanged: \(error)")
        }
    }

    /// Makes `newConfig` the running config and says what changed. Everything that can be
    /// refused is checked before anything changes.
    @discardableResult
    func apply(_ newConfig: SpanTapConfig, replacingSnapshot: Bool = false) throws -> String {
        dispatchPrecondition(condition: .onQueue(queue))
        for instance in newConfig.instances {
            if let snap = instance.maximumPacketLength, snap > geometry.slotCapacity {
                throw DaemonError.snapLengthTooLarge(instance: instance.name, length: snap, capacity: geometry.slotCapacity)
            }
        }
        try Self.checkCPUs(newConfig)
        let ingressCount = newConfig.instances.reduce(0) { $0 + $1.selectors(.ingress).count + $1.selectors(.egress).count }
        guard ingressCount <= HandoffRing.ruleCapacity else {
            throw DaemonError.tooManyRules(count: ingressCount, capacity: HandoffRing.ruleCapacity)
        }
        try ResolvedRule.checkFilterCount(newConfig.instances.flatMap { instance in
            instance.selectors(.ingress).map { instance.filter(for: $0, .ingress) } + instance.selectors(.egress).map { instance.filter(for: $0, .egress) }
        })
        let plan = try outputs.prepare(for: newConfig)
        outputs.commit(plan)
        let summary = ConfigChange(from: config, to: newConfig, plan: plan).description
        config = newConfig
        if replacingSnapshot {
            forwarderSnapshot = nil
            forwarderFilters = []
        }
        applyDataplane(newConfig.dataplane)
        mirrorRulesChanged()
        placeThreads()
        return summary
    }

    /// Ends a client's control connection (a quarantined producer's).
    func closeControlConnection(_ connection: Int) {
        server?.close(connection: connection)
    }

    /// Control connections open now.
    var controlConnections: Int { server?.connectionCount ?? 0 }

    /// Tells systemd start-up is complete; call once everything the daemon serves is up.
    public func notifyReady() {
        queue.sync { systemd.ready(status: summary) }
    }

    /// One line for `systemctl status`: what is running now.
    var summary: String {
        "\(config.instances.count) mirror instance(s), \(outputs.outputs.count) output(s), "
            + "\(crossConnects.count) cross-connect(s), \(producers.count) producer(s)"
    }

    /// Status from any thread (e.g. the metrics endpoint).
    public func currentStatus() -> StatusReport {
        queue.sync { status() }
    }

    private func linkChanged(_ event: LinkEvent) {
        outputs.handle(event)
        dataplaneLinkChanged(event)
    }
}
