import Prometheus
import SpanTapControl

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
            record("spantap_mirrored_packets_total", "Clones enqueued into rings by the instance's bindings.", labels, instance.mirroredPackets)
            record("spantap_mirrored_bytes_total", "Captured bytes enqueued into rings by the instance's bindings.", labels, instance.mirroredBytes)
            record("spantap_mirror_drops_queue_full_total", "Clones dropped because the ring was full.", labels, instance.mirrorDropsQueueFull)
            record("spantap_mirror_drops_no_frame_total", "Clones dropped: longer than a ring slot and no maximum-packet-length.", labels, instance.mirrorDropsNoFrame)
            record("spantap_mirror_drops_no_binding_total", "Records dropped by the sink: output missing or down.", labels, instance.mirrorDropsNoBinding)
            record("spantap_mirror_once_suppressed_total", "Egress copies not made: the ingress copy went to the same output (mirror-once).", labels, instance.mirrorOnceSuppressed)
            record("spantap_mirror_drops_rate_limited_total", "Clones not made: over the instance's max-packets-per-second.", labels, instance.mirrorDropsRateLimited)
            record("spantap_filter_rejected_total", "Frames of the instance's selections its filter rejected before sampling (no ring slot used).", labels, instance.filterRejected)
            record("spantap_delivered_packets_total", "Frames written to the output.", labels, instance.deliveredPackets)
            record("spantap_delivered_bytes_total", "Bytes written to the output.", labels, instance.deliveredBytes)
            record("spantap_write_errors_total", "Writes to the output that failed.", labels, instance.writeErrors)
            record("spantap_recreated_total", "Times the output TAP was re-created after it vanished.", labels, instance.recreated)
        }
        for binding in report.bindings {
            let labels = [("interface", binding.interface), ("queue", "\(binding.queue)")]
            record("spantap_binding_rx_packets_total", "Frames received by the AF_XDP binding.", labels, binding.rxPackets)
            record("spantap_binding_tx_packets_total", "Frames forwarded by the binding to its peer.", labels, binding.txPackets)
            record("spantap_binding_tx_drops_total", "Frames dropped because the peer's TX ring was full.", labels, binding.txDrops)
            record("spantap_binding_mirrored_packets_total", "Clones the binding enqueued into its ring.", labels, binding.mirroredPackets)
            record("spantap_binding_mirror_drops_queue_full_total", "Clones the binding dropped: ring full.", labels, binding.mirrorDropsQueueFull)
            record("spantap_binding_mirror_drops_no_frame_total", "Clones the binding dropped: frame longer than a slot.", labels, binding.mirrorDropsNoFrame)
            record("spantap_binding_mirror_once_suppressed_total", "Egress copies the binding did not make (mirror-once).", labels, binding.mirrorOnceSuppressed)
            record("spantap_binding_mirror_drops_rate_limited_total", "Clones the binding did not make: over max-packets-per-second.", labels, binding.mirrorDropsRateLimited)
            record("spantap_binding_filter_rejected_total", "Frames the binding's rule filters rejected before sampling.", labels, binding.filterRejected)
            let kernel = binding.kernel
            record("spantap_binding_rx_dropped_total", "Kernel XDP_STATISTICS rx_dropped: frames the kernel dropped for the socket.", labels, kernel.rxDropped)
            record("spantap_binding_rx_invalid_descs_total", "Kernel XDP_STATISTICS rx_invalid_descs.", labels, kernel.rxInvalidDescs)
            record("spantap_binding_tx_invalid_descs_total", "Kernel XDP_STATISTICS tx_invalid_descs.", labels, kernel.txInvalidDescs)
            record("spantap_binding_rx_ring_full_total", "Kernel XDP_STATISTICS rx_ring_full: frames dropped before the forwarder's RX ring.", labels, kernel.rxRingFull)
            record("spantap_binding_rx_fill_ring_empty_descs_total", "Kernel XDP_STATISTICS rx_fill_ring_empty_descs.", labels, kernel.rxFillRingEmptyDescs)
            record("spantap_binding_tx_ring_empty_descs_total", "Kernel XDP_STATISTICS tx_ring_empty_descs.", labels, kernel.txRingEmptyDescs)
        }
        for producer in report.producers {
            record(producer: producer.counters, prefix: "spantap_producer", of: "the external producer", [("producer", producer.name)])
            gauge("spantap_producer_rules_disabled", "Rules the producer left out at its last refresh: filter program missing or invalid.",
                  Int(clamping: producer.rulesDisabled), [("producer", producer.name)])
            gauge("spantap_producer_reattaches", "Times the producer attached before this attach, as it said (across spantapd restarts).",
                  producer.reattaches, [("producer", producer.name)])
        }
        let daemon = report.daemon
        record(producer: daemon.detachedProducers, prefix: "spantap_detached_producers", of: "producers no longer attached", [])
        record("spantap_producers_quarantined_total", "Producers cut off for breaking the ring protocol.", [], daemon.producersQuarantined)
        gauge("spantap_producers_attached", "External producers attached now.", daemon.producersAttached)
        gauge("spantap_ring_memory_bytes", "Mapping sizes of all producer rings attached now.", daemon.ringMemoryBytes)
        gauge("spantap_control_connections", "Control connections open now.", daemon.controlConnections)
    }

    private func record(producer counters: StatusReport.ProducerCounters, prefix: String, of whose: String, _ labels: [(String, String)]) {
        record("\(prefix)_mirrored_packets_total", "Records enqueued by \(whose).", labels, counters.mirroredPackets)
        record("\(prefix)_mirror_drops_queue_full_total", "Records \(whose) dropped: ring full.", labels, counters.mirrorDropsQueueFull)
        record("\(prefix)_mirror_drops_no_frame_total", "Records \(whose) dropped: frame longer than a slot.", labels, counters.mirrorDropsNoFrame)
        record("\(prefix)_mirror_drops_no_binding_total", "Records of \(whose) dropped by the sink: output missing or down.", labels, counters.mirrorDropsNoBinding)
        record("\(prefix)_mirror_drops_not_granted_total", "Records of \(whose) outside its rules, not delivered.", labels, counters.mirrorDropsNotGranted)
        record("\(prefix)_mirror_drops_bad_record_total", "Records of \(whose) whose lengths or direction were invalid, not delivered.", labels, counters.mirrorDropsBadRecord)
        record("\(prefix)_mirror_drops_rate_limited_total", "Clones \(whose) did not make: over max-packets-per-second.", labels, counters.mirrorDropsRateLimited)
        record("\(prefix)_filter_rejected_total", "Frames \(whose) did not mirror: a rule's filter rejected them.", labels, counters.filterRejected)
        record("\(prefix)_spurious_wakeups_total", "Wake-ups from \(whose) that found its ring empty.", labels, counters.spuriousWakeups)
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
