import SpanTapControl
import SpanTapRing

/// `spantap status` for people: one row per instance, binding and producer, columns aligned.
struct StatusTable {
    let status: StatusReport

    init(_ status: StatusReport) { self.status = status }

    func render() -> String {
        var out = table(["INSTANCE", "RATE", "INGRESS", "OUTPUT", "KIND"] + Self.mirrorColumns(external: false)
                            + ["DELIVERED", "WRITE-ERR", "RECREATED", "LATENCY-P50/P99"],
                        status.instances.map { i in
                            [i.name, i.rate <= 1 ? "all" : "1/\(i.rate)", i.ingress.joined(separator: ","),
                             "\(i.output.interface)#\(i.output.ifindex)", i.output.kind]
                                + Self.mirrorCells(i.mirror, external: false)
                                + ["\(i.deliveredPackets)", "\(i.writeErrors)", "\(i.recreated)", latency(i.output.latency)]
                        })
        let filters = status.instances.flatMap { i in
            (i.filter.map { [[i.name, "all", "\(i.filterInstructions ?? 0)", $0]] } ?? [])
                + (i.firewallSelections ?? []).map { [i.name, "\($0.interface) \($0.direction)", "\($0.filterInstructions)", $0.filter] }
        }
        if !filters.isEmpty {
            out += "\n" + table(["FILTERED", "SELECTION", "INSNS", "EXPRESSION"], filters)
        }
        if !status.bindings.isEmpty {
            // The kernel's columns say where a frame offered to the forwarder was lost before RX.
            out += "\n" + table(["BINDING", "QUEUE", "MODE", "RX", "TX", "TX-DROP"] + Self.mirrorColumns(external: false)
                                    + ["RX-RING-FULL", "FILL-EMPTY", "RX-DROPPED"],
                                status.bindings.map { b in
                                    [b.interface, "\(b.queue)", b.mode, "\(b.rxPackets)", "\(b.txPackets)", "\(b.txDrops)"]
                                        + Self.mirrorCells(b.mirror, external: false)
                                        + ["\(b.kernel.rxRingFull)", "\(b.kernel.rxFillRingEmptyDescs)", "\(b.kernel.rxDropped)"]
                                })
        }
        if !status.producers.isEmpty {
            out += "\n" + table(["PRODUCER", "PID", "SLOTS", "ATTACHED", "REATTACHES"] + Self.mirrorColumns(external: true),
                                status.producers.map { p in
                                    [p.name, "\(p.pid)", "\(p.slotCount)", p.attachedAt, "\(p.reattaches)"]
                                        + Self.mirrorCells(p.mirror, external: true)
                                })
        }
        if let captures = status.captures, !captures.isEmpty {
            out += "\n" + table(["CAPTURE", "PID", "INSTANCES", "INTERFACES", "FRAMES", "DROPS"],
                                captures.map { c in
                                    ["\(c.id)", "\(c.pid)", c.instances.joined(separator: ","),
                                     c.interfaces.map(\.name).joined(separator: ","), "\(c.frames)", "\(c.drops)"]
                                })
        }
        let d = status.daemon
        out += "\nproducers attached \(d.producersAttached), quarantined since start \(d.producersQuarantined), "
            + "ring memory \(d.ringMemoryBytes) B, control connections \(d.controlConnections)\n"
        return out
    }

    /// The mirror counters' columns and cells, from the schema.
    private static func mirrorColumns(external: Bool) -> [String] { MirrorCounters.fields(external: external).map(\.column) }

    private static func mirrorCells(_ counters: MirrorCounters, external: Bool) -> [String] {
        MirrorCounters.fields(external: external).map { "\(counters[keyPath: $0.keyPath])" }
    }

    private func latency(_ latency: StatusReport.Latency?) -> String {
        guard let latency, latency.samples > 0 else { return "-" }
        return "\(Int(latency.p50Us.rounded()))/\(Int(latency.p99Us.rounded()))us"
    }

    private func table(_ header: [String], _ rows: [[String]]) -> String { TextTable(header, rows).render() }
}

/// Columns padded to their widest cell, two spaces apart, no trailing spaces.
struct TextTable {
    let header: [String]
    let rows: [[String]]

    init(_ header: [String], _ rows: [[String]]) {
        self.header = header
        self.rows = rows
    }

    func render() -> String {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max()! }
        return ([header] + rows).map { row in
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingTrailingSpaces() + "\n"
        }.joined()
    }
}

private extension String {
    func trimmingTrailingSpaces() -> String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}
