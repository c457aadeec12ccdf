import SpanTapControl

extension Daemon {
    /// Every counter, read without stopping any producer.
    func status() -> StatusReport {
        var report = StatusReport()
        for instance in config.instances {
            let output = outputs.outputs[instance.output.interface]
            report.instances.append(StatusReport.Instance(
                name: instance.name, rate: instance.rate, ingress: instance.ingress,
                output: outputStatus(instance.output, output),
                mirror: mirrorCounters(ingress: instance.ingress),
                deliveredPackets: output?.counters.deliveredPackets ?? 0,
                deliveredBytes: output?.counters.deliveredBytes ?? 0,
                writeErrors: (output?.counters.writeErrors ?? 0) &+ (output?.transmitErrors.total ?? 0),
                recreated: output?.recreated ?? 0))
        }
        report.producers = producers.values.sorted { $0.name < $1.name }.map {
            StatusReport.Producer(name: $0.name, pid: $0.peer.pid, slotCount: $0.ring.geometry.slotCount, counters: $0.counters)
        }
        report.daemon.producersAttached = producers.count
        report.daemon.producersQuarantined = producersQuarantined
        report.daemon.ringMemoryBytes = ringMemoryBytes
        report.daemon.controlConnections = controlConnections
        report.daemon.detachedProducers = detachedProducerCounters
        report.bindings = bindingStatus()
        return report
    }
}
