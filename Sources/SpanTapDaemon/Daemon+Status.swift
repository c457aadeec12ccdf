import SpanTapControl

extension Daemon {
    /// Every counter, read without stopping any producer.
    func status() -> StatusReport {
        var report = StatusReport()
        for instance in config.instances {
            let output = outputs.outputs[instance.output.interface]
            report.instances.append(StatusReport.Instance(
                name: instance.name, rate: instance.rate, ingress: instance.ingress,
                output: StatusReport.Output(interface: output?.currentName ?? instance.output.interface,
                                            ifindex: output?.ifindex ?? 0, kind: output?.kind ?? "missing"),
                mirror: mirrorCounters(ingress: instance.ingress),
                deliveredPackets: output?.counters.deliveredPackets ?? 0,
                deliveredBytes: output?.counters.deliveredBytes ?? 0,
                writeErrors: output?.counters.writeErrors ?? 0,
                recreated: output?.recreated ?? 0))
        }
        report.producers = producers.values.sorted { $0.name < $1.name }.map { producer in
            let counters = producer.ring.counters
            return StatusReport.Producer(name: producer.name, pid: producer.peer.pid, slotCount: producer.ring.geometry.slotCount,
                                         mirroredPackets: counters.mirroredPackets, mirrorDropsQueueFull: counters.mirrorDropsQueueFull,
                                         mirrorDropsNoFrame: counters.mirrorDropsNoFrame, mirrorDropsNoBinding: counters.mirrorDropsNoBinding)
        }
        report.bindings = bindingStatus()
        return report
    }
}
