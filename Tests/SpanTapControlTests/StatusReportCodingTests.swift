import Foundation
import SpanTapControl
import SpanTapRing
import Testing

/// `status --json` is read by scripts and dashboards: a producer's counters sit beside its name,
/// not in a nested object, under the forwarder's snake_case names.
@Suite struct StatusReportCodingTests {
    /// The counters every mirror source has (MirrorCounters.fields without the external-only ones).
    static let ringKeys: Set<String> = ["mirrored_packets", "mirrored_bytes", "mirror_drops_queue_full", "mirror_drops_no_frame",
                                        "mirror_drops_no_binding", "mirror_once_suppressed", "mirror_drops_rate_limited",
                                        "filter_rejected", "rules_disabled"]

    /// Instances and bindings carry the same counter type, flat beside their own fields, without
    /// the counters only the sink keeps for external producers.
    @Test func instanceAndBindingCountersAreFlatAndShared() throws {
        var mirror = MirrorCounters()
        mirror.mirroredBytes = 9
        mirror.filterRejected = 10
        let output = StatusReport.Output(interface: "tap0", ifindex: 5, kind: "tap")
        let report = StatusReport(instances: [.init(name: "span1", rate: 1, ingress: ["eth1"], output: output, mirror: mirror,
                                                    deliveredPackets: 1, deliveredBytes: 2, writeErrors: 0, recreated: 0)],
                                  bindings: [.init(interface: "eth1", queue: 0, mode: "generic", rxPackets: 1, txPackets: 1, txDrops: 0,
                                                   mirror: mirror)])
        let line = try ControlCodec.encodeLine(report)
        let object = try #require(JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        let instance = try #require((object["instances"] as? [[String: Any]])?.first)
        let binding = try #require((object["bindings"] as? [[String: Any]])?.first)
        #expect(Set(instance.keys) == Set(["name", "kind", "rate", "run_length", "max_packets_per_second", "ingress", "egress", "output",
                                       "delivered_packets", "delivered_bytes", "write_errors", "recreated"]).union(Self.ringKeys))
        #expect(Set(binding.keys) == Set(["interface", "queue", "mode", "rx_packets", "tx_packets", "tx_drops", "kernel"]).union(Self.ringKeys))
        #expect(instance["filter_rejected"] as? Int == 10 && binding["mirrored_bytes"] as? Int == 9)
        let decoded = try ControlCodec.decode(StatusReport.self, from: line.dropLast())
        #expect(decoded == report)
        #expect(decoded.instances.first?.filterRejected == 10, "counters read through the instance")
    }

    @Test func aProducersCountersAreFlatInItsJSONObject() throws {
        var counters = MirrorCounters()
        counters.mirroredPackets = 1
        counters.mirrorDropsQueueFull = 2
        counters.mirrorDropsNoFrame = 3
        counters.mirrorDropsNoBinding = 4
        counters.mirrorDropsNotGranted = 5
        counters.mirrorDropsBadRecord = 6
        counters.mirrorDropsRateLimited = 7
        counters.spuriousWakeups = 8
        let report = StatusReport(producers: [.init(name: "rust-fwd", pid: 42, slotCount: 4096, attachedAt: "2026-12-07T03:00:00Z",
                                                    reattaches: 2, mirror: counters)])

        let line = try ControlCodec.encodeLine(report)
        let object = try #require(JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        let producer = try #require((object["producers"] as? [[String: Any]])?.first)
        #expect(Set(producer.keys) == Set(["name", "pid", "slot_count", "attached_at", "reattaches"]).union(Self.ringKeys).union(
                                           ["mirror_drops_not_granted", "mirror_drops_bad_record", "spurious_wakeups"]))
        #expect(producer["reattaches"] as? Int == 2 && producer["attached_at"] as? String == "2026-12-07T03:00:00Z")
        #expect(producer["mirror_drops_not_granted"] as? Int == 5)

        let decoded = try ControlCodec.decode(StatusReport.self, from: line.dropLast())
        #expect(decoded == report)
        #expect(decoded.producers.first?.mirrorDropsBadRecord == 6, "counters read through the producer")
    }
}
