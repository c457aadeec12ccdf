import Foundation
import SpanTapControl
import SpanTapLink

extension Daemon {
    /// Every counter, read without stopping any producer.
    func status() -> StatusReport {
        var report = StatusReport()
        for instance in config.instances {
            let output = outputs.outputs[instance.output.interface]
            let handed = output?.counters.deliveredPackets ?? 0
            let failed = output?.transmitErrors ?? TransmitErrors()
            var entry = StatusReport.Instance(
                name: instance.name, kind: instance.kind.rawValue, rate: instance.rate, runLength: instance.runLength,
                maxPacketsPerSecond: instance.maxPacketsPerSecond,
                ingress: instance.ingress, egress: instance.egress,
                output: outputStatus(instance.output, output, transmitErrors: failed),
                mirror: mirrorCounters(instance),
                // A VXLAN device takes every write and may fail to send later: those frames are
                // write errors (by reason), not deliveries. Their bytes cannot be told apart and stay in.
                deliveredPackets: handed - min(handed, failed.total),
                deliveredBytes: output?.counters.deliveredBytes ?? 0,
                writeErrors: (output?.counters.writeErrors ?? 0) &+ failed.total,
                recreated: output?.recreated ?? 0)
            if instance.outputs.count > 1 {
                entry.outputs = instance.outputs.map { configured in
                    let output = outputs.outputs[configured.interface]
                    var status = outputStatus(configured, output, transmitErrors: output?.transmitErrors ?? TransmitErrors())
                    status.deliveredPackets = output?.counters.deliveredPackets
                    status.deliveredBytes = output?.counters.deliveredBytes
                    status.writeErrors = output?.counters.writeErrors
                    return status
                }
            }
            entry.filter = instance.filter?.expression
            entry.filterInstructions = instance.filter?.program.instructions.count
            entry.firewallSelections = instance.firewallSelections.isEmpty ? nil
                : instance.firewallSelections.map {
                    StatusReport.FirewallSelection(interface: $0.interface, direction: $0.direction.rawValue, firewallFilters: $0.firewallFilters,
                                                   filter: $0.filter.expression, filterInstructions: $0.filter.program.instructions.count)
                }
            report.instances.append(entry)
        }
        report.producers = producers.values.sorted { $0.name < $1.name }.map {
            StatusReport.Producer(name: $0.name, pid: $0.peer.pid, slotCount: $0.ring.geometry.slotCount,
                                  attachedAt: $0.attachedAt.formatted(.iso8601), reattaches: $0.reattaches, mirror: $0.counters)
        }
        report.daemon.producersAttached = producers.count
        report.daemon.producersQuarantined = producersQuarantined
        report.daemon.ringMemoryBytes = ringMemoryBytes
        report.daemon.controlConnections = controlConnections
        report.daemon.detachedProducers = detachedProducerCounters
        report.bindings = bindingStatus()
        let ringDrops = bindingRingDrops()
        report.captures = captures.values.map { $0.report(ringDrops: ringDrops) }.sorted { $0.id < $1.id }
        return report
    }
}
