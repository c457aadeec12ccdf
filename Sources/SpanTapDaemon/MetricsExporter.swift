import CoreMetrics
import SpanTapControl

/// Mirrors the status counters into swift-metrics counters (Prometheus `_total` counters when
/// the Prometheus factory is bootstrapped). The rings and outputs stay the source of truth: each
/// update adds what a counter grew by since the last one; a counter that went down (a producer
/// re-attached under the same name) is taken as a reset and re-based.
public final class MetricsExporter {
    private var counters: [String: (counter: Counter, last: UInt64)] = [:]

    public init() {}

    public func update(from report: StatusReport) {
        for instance in report.instances {
            let labels = [("instance", instance.name), ("output", instance.output.interface)]
            record("spantap_mirrored_packets_total", labels, instance.mirroredPackets)
            record("spantap_mirrored_bytes_total", labels, instance.mirroredBytes)
            record("spantap_mirror_drops_queue_full_total", labels, instance.mirrorDropsQueueFull)
            record("spantap_mirror_drops_no_frame_total", labels, instance.mirrorDropsNoFrame)
            record("spantap_mirror_drops_no_binding_total", labels, instance.mirrorDropsNoBinding)
            record("spantap_delivered_packets_total", labels, instance.deliveredPackets)
            record("spantap_delivered_bytes_total", labels, instance.deliveredBytes)
            record("spantap_write_errors_total", labels, instance.writeErrors)
            record("spantap_recreated_total", labels, instance.recreated)
        }
        for binding in report.bindings {
            let labels = [("interface", binding.interface), ("queue", "\(binding.queue)")]
            record("spantap_binding_rx_packets_total", labels, binding.rxPackets)
            record("spantap_binding_tx_packets_total", labels, binding.txPackets)
            record("spantap_binding_tx_drops_total", labels, binding.txDrops)
            record("spantap_binding_mirrored_packets_total", labels, binding.mirroredPackets)
            record("spantap_binding_mirror_drops_queue_full_total", labels, binding.mirrorDropsQueueFull)
            record("spantap_binding_mirror_drops_no_frame_total", labels, binding.mirrorDropsNoFrame)
        }
        for producer in report.producers {
            let labels = [("producer", producer.name)]
            record("spantap_producer_mirrored_packets_total", labels, producer.mirroredPackets)
            record("spantap_producer_mirror_drops_queue_full_total", labels, producer.mirrorDropsQueueFull)
            record("spantap_producer_mirror_drops_no_frame_total", labels, producer.mirrorDropsNoFrame)
            record("spantap_producer_mirror_drops_no_binding_total", labels, producer.mirrorDropsNoBinding)
        }
    }

    private func record(_ name: String, _ labels: [(String, String)], _ value: UInt64) {
        let key = name + labels.map { "|\($0.0)=\($0.1)" }.joined()
        let entry = counters[key] ?? (Counter(label: name, dimensions: labels), 0)
        let last = value >= entry.last ? entry.last : 0
        if value > last { entry.counter.increment(by: Int64(clamping: value - last)) }
        counters[key] = (entry.counter, value)
    }
}
