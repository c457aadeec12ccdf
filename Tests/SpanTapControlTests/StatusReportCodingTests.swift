import Foundation
import SpanTapControl
import Testing

/// `status --json` is read by scripts and dashboards: a producer's counters sit beside its name,
/// not in a nested object, under the forwarder's snake_case names.
@Suite struct StatusReportCodingTests {
    @Test func aProducersCountersAreFlatInItsJSONObject() throws {
        var counters = StatusReport.ProducerCounters()
        counters.mirroredPackets = 1
        counters.mirrorDropsQueueFull = 2
        counters.mirrorDropsNoFrame = 3
        counters.mirrorDropsNoBinding = 4
        counters.mirrorDropsNotGranted = 5
        counters.mirrorDropsBadRecord = 6
        counters.mirrorDropsRateLimited = 7
        counters.spuriousWakeups = 8
        let report = StatusReport(producers: [.init(name: "rust-fwd", pid: 42, slotCount: 4096, attachedAt: "2026-12-07T03:00:00Z",
                                                    reattaches: 2, counters: counters)])

        let line = try ControlCodec.encodeLine(report)
        let object = try #require(JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        let producer = try #require((object["producers"] as? [[String: Any]])?.first)
        #expect(Set(producer.keys) == ["name", "pid", "slot_count", "attached_at", "reattaches", "mirrored_packets",
                                       "mirror_drops_queue_full", "mirror_drops_no_frame", "mirror_drops_no_binding",
                                       "mirror_drops_not_granted", "mirror_drops_bad_record", "mirror_drops_rate_limited", "filter_rejected", "rules_disabled",
                                       "spurious_wakeups"])
        #expect(producer["reattaches"] as? Int == 2 && producer["attached_at"] as? String == "2026-12-07T03:00:00Z")
        #expect(producer["mirror_drops_not_granted"] as? Int == 5)

        let decoded = try ControlCodec.decode(StatusReport.self, from: line.dropLast())
        #expect(decoded == report)
        #expect(decoded.producers.first?.mirrorDropsBadRecord == 6, "counters read through the producer")
    }
}
