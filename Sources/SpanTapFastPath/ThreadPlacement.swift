import CSpanTapSys
import Glibc
import SpanTapSystem
import SystemPackage

/// Where a thread may run and how the kernel schedules it: how the forwarding threads are kept
/// ahead of everything else on a shared host (invariant 9). The forwarding threads run at the
/// normal class on `dataplane { cpus }`; the slow path (sink, control, metrics, link monitor)
/// runs below them (`sink { scheduling }`) on `sink { cpus }`.
public struct ThreadPlacement: Equatable, Sendable {
    public enum Scheduling: String, Sendable, CaseIterable {
        /// SCHED_IDLE: runs only on an otherwise idle CPU; any normal thread preempts it.
        case idle
        /// SCHED_BATCH at nice 10: a smaller, non-preempting share beside normal threads.
        case batch
        /// SCHED_OTHER at nice 0, the default class.
        case normal
    }

    /// CPUs the thread may run on; empty: every online CPU.
    public var cpus: [Int]
    public var scheduling: Scheduling

    public init(cpus: [Int] = [], scheduling: Scheduling = .normal) {
        self.cpus = cpus
        self.scheduling = scheduling
    }

    /// The calling thread's kernel id (what /proc/self/task lists).
    public static var currentThreadID: pid_t { spantap_gettid() }

    /// Names the calling thread as `top -H` and /proc show it (the kernel keeps 15 bytes).
    public static func nameCurrentThread(_ name: String) {
        spantap_set_thread_name(name)
    }

    /// Applies this placement to thread `tid` of this process.
    public func apply(to tid: pid_t) throws(PlacementError) {
        let policy: Int32 = switch scheduling {
        case .normal: 0
        case .batch: 1
        case .idle: 2
        }
        var step: UnsafePointer<CChar>?
        let cpuList = cpus.map(Int32.init)
        let placed = cpuList.withUnsafeBufferPointer {
            spantap_place_thread(tid, policy, scheduling == .batch ? 10 : 0, $0.baseAddress, Int32($0.count), &step)
        }
        guard placed == 0 else {
            let error = Errno.last  // before anything below can overwrite errno
            let what = step.map { String(cString: $0) } ?? "placement"
            throw PlacementError(what == "cpus" ? "cpus \(cpus.map(String.init).joined(separator: ","))" : "\(what) (\(scheduling))", tid, error)
        }
    }
}

/// A placement the kernel refused, with what and for which thread.
public struct PlacementError: Error, CustomStringConvertible {
    public let setting: String
    public let tid: pid_t
    public let errno: Errno

    init(_ setting: String, _ tid: pid_t, _ errno: Errno) {
        self.setting = setting
        self.tid = tid
        self.errno = errno
    }

    public var description: String { "cannot set \(setting) for thread \(tid): \(errno) (\(errno.symbolicName))" }
}
