import Glibc
import Prometheus

/// The conventional `process_*` series (as every Prometheus client library exports them), read
/// from /proc/self at scrape time so they cost nothing in between.
final class ProcessMetrics {
    private let cpuSeconds: Counter
    private let residentBytes: Gauge
    private let virtualBytes: Gauge
    private let openFDs: Gauge
    private let maxFDs: Gauge
    private let startTime: Gauge
    private let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
    private let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))

    init(registry: PrometheusCollectorRegistry) {
        cpuSeconds = registry.makeCounter(descriptor: MetricNameDescriptor("process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds."))
        residentBytes = registry.makeGauge(descriptor: MetricNameDescriptor("process_resident_memory_bytes", help: "Resident memory size in bytes."))
        virtualBytes = registry.makeGauge(descriptor: MetricNameDescriptor("process_virtual_memory_bytes", help: "Virtual memory size in bytes."))
        openFDs = registry.makeGauge(descriptor: MetricNameDescriptor("process_open_fds", help: "Number of open file descriptors."))
        maxFDs = registry.makeGauge(descriptor: MetricNameDescriptor("process_max_fds", help: "Maximum number of open file descriptors."))
        startTime = registry.makeGauge(descriptor: MetricNameDescriptor("process_start_time_seconds", help: "Start time of the process since unix epoch in seconds."))
        if let stat = Self.stat(), let bootTime = Self.bootTime() {
            startTime.set(to: bootTime + Double(stat.startTicks) / ticksPerSecond)
        }
    }

    func update() {
        if let stat = Self.stat() {
            // A counter cannot be set; resetting and adding is safe because scrapes are serial.
            cpuSeconds.reset()
            cpuSeconds.increment(by: Double(stat.utime + stat.stime) / ticksPerSecond)
            residentBytes.set(to: Double(stat.rssPages) * pageSize)
            virtualBytes.set(to: Double(stat.vsize))
        }
        openFDs.set(to: Double(Self.countOpenFDs()))
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 { maxFDs.set(to: Double(limit.rlim_cur)) }
    }

    private struct Stat {
        var utime: UInt64, stime: UInt64, startTicks: UInt64, vsize: UInt64, rssPages: UInt64
    }

    /// /proc/self/stat, fields after the command name (which may hold spaces and parentheses,
    /// hence the split at the last ')'); see proc(5) for the field numbers.
    private static func stat() -> Stat? {
        guard let text = read("/proc/self/stat"), let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); field N is fields[N - 3].
        func field(_ n: Int) -> UInt64 { n - 3 < fields.count ? UInt64(fields[n - 3]) ?? 0 : 0 }
        return Stat(utime: field(14), stime: field(15), startTicks: field(22), vsize: field(23), rssPages: field(24))
    }

    private static func bootTime() -> Double? {
        read("/proc/stat")?.split(separator: "\n").first { $0.hasPrefix("btime ") }
            .flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }
    }

    private static func countOpenFDs() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            if entry.pointee.d_name.0 != CChar(UInt8(ascii: ".")) { count += 1 }
        }
        return count - 1  // the directory stream's own descriptor
    }

    private static func read(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            bytes += chunk.prefix(n)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
