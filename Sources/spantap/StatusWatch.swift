import Foundation
import SpanTapControl
import SpanTapRing

/// `spantap status --watch`: the status every few seconds, as rates since the previous look, so
/// an operator sees at a glance whether mirroring keeps up (clones delivered as fast as they are
/// made, drops by reason) and whether the forwarder loses anything (kernel drops before RX).
struct StatusWatch {
    let interval: Double
    let fetch: () throws -> StatusReport

    func run() throws -> Never {
        var previous = try fetch()
        var previousTime = Date()
        while true {
            Thread.sleep(forTimeInterval: interval)
            let current = try fetch()
            let now = Date()
            // Home, clear: one screen that refreshes in place.
            let screen = "\u{1B}[H\u{1B}[2J" + render(current, since: previous, seconds: now.timeIntervalSince(previousTime))
            FileHandle.standardOutput.write(Data(screen.utf8))
            previous = current
            previousTime = now
        }
    }

    func render(_ now: StatusReport, since before: StatusReport, seconds: Double) -> String {
        func rate(_ new: UInt64, _ old: UInt64?) -> String {
            String(format: "%.0f", Double(new &- min(new, old ?? new)) / max(seconds, 0.001))
        }
        // The mirror counters' columns come from the schema (those with a `watch` name).
        func mirrorRates(_ new: MirrorCounters, _ old: MirrorCounters?, external: Bool) -> [String] {
            MirrorCounters.fields(external: external).filter { $0.watch != nil }.map {
                rate(new[keyPath: $0.keyPath], old?[keyPath: $0.keyPath])
            }
        }
        func mirrorColumns(external: Bool) -> [String] { MirrorCounters.fields(external: external).compactMap(\.watch) }
        var out = "spantap status --watch: per second over the last \(String(format: "%.1f", seconds)) s (Ctrl-C ends)\n\n"
        out += TextTable(["INSTANCE", "DELIVERED/s", "WRITE-ERR/s"] + mirrorColumns(external: false),
                         now.instances.map { i in
                             let o = before.instances.first { $0.name == i.name }
                             return [i.name, rate(i.deliveredPackets, o?.deliveredPackets), rate(i.writeErrors, o?.writeErrors)]
                                 + mirrorRates(i.mirror, o?.mirror, external: false)
                         }).render()
        if !now.bindings.isEmpty {
            out += "\n" + TextTable(["BINDING", "QUEUE", "RX/s", "FORWARDED/s", "TX-DROP/s", "KERNEL-DROP/s"] + mirrorColumns(external: false),
                                    now.bindings.map { b in
                                        let o = before.bindings.first { $0.interface == b.interface && $0.queue == b.queue }
                                        let kernel = b.kernel.rxRingFull &+ b.kernel.rxDropped
                                        let oldKernel = o.map { $0.kernel.rxRingFull &+ $0.kernel.rxDropped }
                                        return [b.interface, "\(b.queue)", rate(b.rxPackets, o?.rxPackets), rate(b.txPackets, o?.txPackets),
                                                rate(b.txDrops, o?.txDrops), rate(kernel, oldKernel)]
                                            + mirrorRates(b.mirror, o?.mirror, external: false)
                                    }).render()
        }
        if !now.producers.isEmpty {
            out += "\n" + TextTable(["PRODUCER"] + mirrorColumns(external: true), now.producers.map { p in
                let o = before.producers.first { $0.name == p.name }
                return [p.name] + mirrorRates(p.mirror, o?.mirror, external: true)
            }).render()
        }
        return out
    }
}
