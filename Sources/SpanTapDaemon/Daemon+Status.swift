import Foundation
import SpanTapControl
import SpanTapLink

extension Daemon {
    /// Every counter, read without stopping any producer.
    func status() -> StatusReport {
        var report = StatusReport()
        for instance in config.instances {
            let output = outputs.outputs[instance.output.interface]
            let failed = output?.transmitErrors ?? TransmitErrors()
            let delivered = output?.delivery(failed) ?? (packets: 0, bytes: 0, errors: 0)
            var entry = StatusReport.Instance(
                name: instance.name, kind: instance.kind.rawValue, rate: instance.rate, runLength: instance.runLength,
                maxPacketsPerSecond: instance.maxPacketsPerSecond,
                ingress: instance.ingress, egress: instance.egress,
                output: outputStatus(instance.output, output, transmitErrors: failed),
                mirror: mirrorCounters(instance),
                deliveredPackets: delivered.packets, deliveredBytes: delivered.bytes, writeErrors: delivered.errors,
                recreated: output?.recreated ?? 0)
            if instance.outputs.count > 1 {
                entry.outputs = instance.outputs.map { configured in
                    let output = outputs.outputs[configured.interface]
                    let failed = output?.transmitErrors ?? TransmitErrors()
                    var status = outputStatus(configured, output, transmitErrors: failed)
                    let delivered = output?.delivery(failed)
                    status.deliveredPackets = delivered?.packets
                    status.deliveredBytes = delivered?.bytes
                    status.writeErrors = delivered?.errors
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
