import Foundation
import SpanTapConfig
import SpanTapFastPath

extension Daemon {
    /// Where the forwarding threads run: `dataplane { cpus }`, always the normal class.
    var forwardingPlacement: ThreadPlacement { ThreadPlacement(cpus: config.dataplane.cpus, scheduling: .normal) }

    /// Where everything else runs: `sink { cpus; scheduling; }`.
    var slowPathPlacement: ThreadPlacement {
        let scheduling: ThreadPlacement.Scheduling = switch config.sink.scheduling {
        case .idle: .idle
        case .batch: .batch
        case .normal: .normal
        }
        return ThreadPlacement(cpus: config.sink.cpus, scheduling: scheduling)
    }

    /// Places every thread of this process: the forwarding threads (named `fwd-*`) by the
    /// dataplane, all others (sink workers, control, metrics, link monitor: Dispatch's threads)
    /// by the sink. Threads made later inherit their creator's placement, and forwarding threads
    /// place themselves as they start, so this runs at start and after each config change, and a
    /// change applies to running threads: no forwarder restarts for it.
    func placeThreads() {
        let forwarding = forwardingPlacement, slowPath = slowPathPlacement
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        var failures: [String] = []
        for task in tasks {
            guard let tid = Int32(task) else { continue }
            let name = (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)) ?? ""
            do {
                try (name.hasPrefix("fwd-") ? forwarding : slowPath).apply(to: tid)
            } catch {
                failures.append("\(error)")
            }
        }
        if let first = failures.first {
            logger.error("some threads keep their previous placement", metadata: ["threads": "\(failures.count)", "first": "\(first)"])
        }
    }

    /// CPUs a config names must exist here, or the kernel refuses the placement.
    public static func checkCPUs(_ config: SpanTapConfig) throws {
        let present = Int(sysconf(Int32(_SC_NPROCESSORS_CONF)))
        for (statement, cpus) in [("dataplane cpus", config.dataplane.cpus), ("sink cpus", config.sink.cpus)] {
            if let missing = cpus.first(where: { $0 >= present }) {
                throw DaemonError.cpuNotPresent(statement: statement, cpu: missing, present: present)
            }
        }
    }
}
