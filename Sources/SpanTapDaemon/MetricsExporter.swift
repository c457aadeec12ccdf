import Prometheus
import SpanTapControl
import SpanTapRing

/// Mirrors the status counters into Prometheus `_total` counters, each with its HELP text. The
/// rings and outputs stay the source of truth: each update adds what a counter grew by since the
/// last one; a counter that went down (a producer re-attached under the same name) is taken as a
/// reset and re-based.
///
/// Label names avoid the ones Prometheus reserves (`instance`, `job`, `__*`): a mirror instance
/// is `mirror_instance`, so a scrape keeps the target's own `instance` label intact.
public final class MetricsExporter {
    private let registry = PrometheusCollectorRegistry()
    private var counters: [String: (counter: Counter, last: UInt64)] = [:]
    private var gauges: [String: Gauge] = [:]
    private let process: ProcessMetrics

    public init() {
        process = ProcessMetrics(registry: registry)
        let buildInfo = MetricNameDescriptor("spantap_build_info",
                                             help: "Always 1; the version label says which spantapd is running.")
        registry.makeGauge(descriptor: buildInfo, labels: [("version", SpanTapVersion.current)]).set(to: 1)
    }

    /// The exposition body for one scrape: counters brought up to date from `report`, process
    /// series read from /proc now.
    public func scrape(_ report: StatusReport) -> [UInt8] {
        update(from: report)
        process.update()
        var body = registry.emitToBuffer()
        // The text format wants every line, the last included, to end in a newline.
        if body.last != UInt8(ascii: "\n") { body.append(UInt8(ascii: "\n")) }
        body += Array(LatencyExposition.render(report.instances).utf8)
        return body
    }

    func update(from report: StatusReport) {
        for instance in report.instances {
            let labels = [("mirror_instance", instance.name), ("output", instance.output.interface)]
            record(instance.mirror, prefix: "spantap", of: "the instance's bindings", external: false, labels)
            record("spantap_recreated_total", "Times the output TAP was re-created after it vanished.", labels, instance.recreated)
            guard let members = instance.outputs else {
                recordDelivery(labels, instance.deliveredPackets, instance.deliveredBytes, instance.writeErrors, instance.output.session)
                continue
            }
            for member in members {
                recordDelivery([("mirror_instance", instance.name), ("output", member.interface)], member.deliveredPackets ?? 0,
                               member.deliveredBytes ?? 0, member.writeErrors ?? 0, member.session)
            }
        }
        for binding in report.bindings {
            let labels = [("interface", binding.interface), ("queue", "\(binding.queue)")]
            record("spantap_binding_rx_packets_total", "Frames received by the AF_XDP binding.", labels, binding.rxPackets)
            record("spantap_binding_tx_packets_total", "Frames forwarded by the binding to its peer.", labels, binding.txPackets)
            record("spantap_binding_tx_drops_total", "Frames dropped because the peer's TX ring was full.", labels, binding.txDrops)
            record(binding.mirror, prefix: "spantap_binding", of: "the binding", external: false, labels)
            let kernel = binding.kernel
            record("spantap_binding_rx_dropped_total", "Kernel XDP_STATISTICS rx_dropped: frames the kernel dropped for the socket.", labels, kernel.rxDropped)
            record("spantap_binding_rx_invalid_descs_total", "Kernel XDP_STATISTICS rx_invalid_descs.", labels, kernel.rxInvalidDescs)
            record("spantap_binding_tx_invalid_descs_total", "Kernel XDP_STATISTICS tx_invalid_descs.", labels, kernel.txInvalidDescs)
            record("spantap_binding_rx_ring_full_total", "Kernel XDP_STATISTICS rx_ring_full: frames dropped before the forwarder's RX ring.", labels, kernel.rxRingFull)
            record("spantap_binding_rx_fill_ring_empty_descs_total", "Kernel XDP_STATISTICS rx_fill_ring_empty_descs.", labels, kernel.rxFillRingEmptyDescs)
            record("spantap_binding_tx_ring_empty_descs_total", "Kernel XDP_STATISTICS tx_ring_empty_descs.", labels, kernel.txRingEmptyDescs)
        }
        for producer in report.producers {
            record(producer.mirror, prefix: "spantap_producer", of: "the external producer", external: true, [("producer", producer.name)])
            gauge("spantap_producer_reattaches", "Times the producer attached before this attach, as it said (across spantapd restarts).",
                  producer.reattaches, [("producer", producer.name)])
        }
        let daemon = report.daemon
        record(daemon.detachedProducers, prefix: "spantap_detached_producers", of: "producers no longer attached", external: true, [],
               levels: false)
        record("spantap_producers_quarantined_total", "Producers cut off for breaking the ring protocol.", [], daemon.producersQuarantined)
        gauge("spantap_producers_attached", "External producers attached now.", daemon.producersAttached)
        gauge("spantap_ring_memory_bytes", "Mapping sizes of all producer rings attached now.", daemon.ringMemoryBytes)
        gauge("spantap_control_connections", "Control connections open now.", daemon.controlConnections)
    }

    /// What one output delivered of an instance (each output of a fan-out has its own series).
    private func recordDelivery(_ labels: [(String, String)], _ packets: UInt64, _ bytes: UInt64, _ errors: UInt64,
                                _ session: StatusReport.RemoteSession?) {
        record("spantap_delivered_packets_total", "Frames written to the output.", labels, packets)
        record("spantap_delivered_bytes_total", "Bytes written to the output.", labels, bytes)
        record("spantap_write_errors_total", "Writes to the output that failed.", labels, errors)
        if let session { record(session, labels) }
    }

    /// An ERSPAN or GRE output's own series: frames cut or dropped for the path MTU, send errors by reason.
    private func record(_ session: StatusReport.RemoteSession, _ labels: [(String, String)]) {
        record("spantap_remote_truncated_total", "ERSPAN frames cut to fit the path MTU to the collector (sent with the T bit).",
               labels, session.truncated)
        record("spantap_remote_too_big_total", "GRE frames larger than the path MTU to the collector, dropped.", labels, session.tooBig)
        gauge("spantap_remote_path_mtu_bytes", "Path MTU to the collector the kernel knows now, outer IP header included.",
              session.pathMtu, labels)
        let help = "Sends to the collector the kernel refused, by reason (no_route, message_too_long, queue_full, other)."
        for (reason, value) in [("no_route", session.noRoute), ("message_too_long", session.messageTooLong),
                                ("queue_full", session.queueFull), ("other", session.otherErrors)] {
            record("spantap_remote_send_errors_total", help, labels + [("reason", reason)], value)
        }
    }

    /// A mirror source's counters, one series per field of the schema (`MirrorCounters.fields`):
    /// counts as `PREFIX_METRIC_total`, levels as gauges unless `levels` is false (totals of
    /// producers that left have none); `whose` completes the HELP text.
    private func record(_ counters: MirrorCounters, prefix: String, of whose: String, external: Bool, _ labels: [(String, String)],
                        levels: Bool = true) {
        let source = whose.prefix(1).uppercased() + whose.dropFirst()
        for field in MirrorCounters.fields(external: external) where levels || !field.gauge {
            let value = counters[keyPath: field.keyPath], help = "\(source): \(field.help)."
            if field.gauge {
                gauge("\(prefix)_\(field.metric)", help, Int(clamping: value), labels)
            } else {
                record("\(prefix)_\(field.metric)_total", help, labels, value)
            }
        }
    }

    private func gauge(_ name: String, _ help: String, _ value: Int, _ labels: [(String, String)] = []) {
        let key = name + labels.map { "|\($0.0)=\($0.1)" }.joined()
        let gauge = gauges[key] ?? registry.makeGauge(descriptor: MetricNameDescriptor(name, help: help), labels: labels)
        gauges[key] = gauge
        gauge.set(to: Double(value))
    }

    /// `help` must be the same for every label set of `name` (the registry enforces it).
    private func record(_ name: String, _ help: String, _ labels: [(String, String)], _ value: UInt64) {
        let key = name + labels.map { "|\($0.0)=\($0.1)" }.joined()
        let entry = counters[key] ?? (registry.makeCounter(descriptor: MetricNameDescriptor(name, help: help), labels: labels), 0)
        let last = value >= entry.last ? entry.last : 0
        if value > last { entry.counter.increment(by: Int64(clamping: value - last)) }
        counters[key] = (entry.counter, value)
    }
}

extension MetricNameDescriptor {
    /// A series named in full, as the README lists it (the registry joins the non-empty parts).
    init(_ name: String, help: String) {
        self.init(metricName: name, unitName: "", helpText: help)
    }
}
