import Foundation
import Glibc
import SpanTapTestSupport
import Testing

/// The /metrics endpoint as Prometheus sees it: checked by Prometheus's own promtool, and still
/// answering while other clients hold connections open without sending anything.
@Suite(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct MetricsTests {
    @Test func expositionPassesPromtoolWithHelpProcessBuildInfoAndLatency() throws {
        let producer = try ExternalProducerTests.buildProducer()
        let (lab, _) = try DaemonLab.startedWithTap(extraArguments: ["--metrics", "127.0.0.1:0"])
        defer { lab.cleanUp() }
        // 200 stamped frames through the sink, so the output's latency histogram has something in it.
        _ = try run(producer, "-s", lab.socketPath, "-n", "metrics-test", "-c", "200", "-l", "100")
        #expect(waitUntil { (try? lab.status().instances.first?.deliveredPackets) == 200 })
        let latency = try #require(try lab.status().instances.first?.output.latency)
        #expect(latency.samples == 200, "every delivered frame is in the histogram")
        #expect(latency.p50Us > 0 && latency.p50Us <= latency.p99Us && latency.p99Us <= latency.maxUs, "\(latency)")
        #expect(latency.buckets.map(\.count) == latency.buckets.map(\.count).sorted(), "buckets are cumulative")
        #expect(latency.buckets.last!.count <= 200)

        let body = try scrape(port: try #require(lab.metricsPort())).body
        let file = lab.directory.appendingPathComponent("metrics.txt")
        try body.write(to: file, atomically: true, encoding: .utf8)
        // promtool lints too (counter names, HELP present); any finding fails the check.
        try run("sh", "-c", "promtool check metrics < '\(file.path)'")
        #expect(body.hasSuffix("\n"), "the text format wants the last line ended too")

        let samples = body.split(separator: "\n").filter { !$0.hasPrefix("#") }
        let names = Set(samples.map { String($0.prefix { $0 != "{" && $0 != " " }) })
        let helped = Set(body.split(separator: "\n").filter { $0.hasPrefix("# HELP ") }.map { String($0.split(separator: " ")[2]) })
        // A histogram's HELP names its family; its series add _bucket, _sum and _count.
        let family = { (name: String) in
            ["_bucket", "_sum", "_count"].first { name.hasSuffix($0) && helped.contains(String(name.dropLast($0.count))) }
                .map { String(name.dropLast($0.count)) } ?? name
        }
        let unhelped = names.filter { !helped.contains(family($0)) }
        #expect(unhelped.isEmpty, "series without HELP: \(unhelped)")
        let labelNames = Set(samples.flatMap { sample -> [String] in
            guard let open = sample.firstIndex(of: "{"), let close = sample.lastIndex(of: "}") else { return [] }
            return sample[sample.index(after: open)..<close].split(separator: ",").map { String($0.prefix { $0 != "=" }) }
        })
        let reserved = labelNames.filter { ["instance", "job"].contains($0) || $0.hasPrefix("__") }
        #expect(reserved.isEmpty, "Prometheus reserves \(reserved)")
        #expect(labelNames.contains("mirror_instance"))
        for name in ["process_resident_memory_bytes", "process_open_fds", "process_cpu_seconds_total", "process_start_time_seconds"] {
            #expect(names.contains(name), "\(name) missing")
        }
        #expect(samples.contains { $0.hasPrefix("spantap_build_info{version=\"") && $0.hasSuffix("} 1.0") })
        // The sink's histogram as a Prometheus histogram: buckets, +Inf, _sum and _count agree with status.
        #expect(samples.contains { $0.hasPrefix("spantap_output_latency_seconds_bucket{") && $0.contains("le=\"+Inf\"} 200") })
        #expect(samples.contains { $0.hasPrefix("spantap_output_latency_seconds_count{") && $0.hasSuffix("} 200") })
        #expect(body.contains("# TYPE spantap_output_latency_seconds histogram"))
    }

    /// An external producer's frames through a fan-out to a TAP and a GRE session: each output
    /// has its own delivery series and the session its own, with HELP, clean for promtool.
    @Test func aFanOutWithARemoteOutputIsExposedPerOutput() throws {
        let producer = try ExternalProducerTests.buildProducer()
        let collector = try CollectorLab()
        defer { collector.teardown() }
        let tap = uniqueName("out"), ingress = try DaemonLab.makeIngress()
        let instance = "set forwarding-options port-mirroring instance span1"
        let lab = try DaemonLab(config: ["\(instance) input ingress interface \(ingress)", "\(instance) output interface \(tap)",
                                         "\(instance) output interface gre1 gre remote \(collector.collectorAddress)",
                                         "\(instance) output interface gre1 gre local \(collector.localAddress)",
                                         "\(instance) output interface gre1 gre sequence"].joined(separator: "\n") + "\n")
        lab.interfaces = [tap, ingress]
        defer { lab.cleanUp() }
        try lab.start(extraArguments: ["--metrics", "127.0.0.1:0"])
        _ = try run(producer, "-s", lab.socketPath, "-n", "fan-out", "-c", "200", "-l", "100")
        #expect(waitUntil { (try? lab.status().instances.first?.outputs?.compactMap(\.deliveredPackets)) == [200, 200] })

        let body = try scrape(port: try #require(lab.metricsPort())).body
        let file = lab.directory.appendingPathComponent("metrics.txt")
        try body.write(to: file, atomically: true, encoding: .utf8)
        try run("sh", "-c", "promtool check metrics < '\(file.path)'")
        let samples = Set(body.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init))
        for output in [tap, "gre1"] {
            #expect(samples.contains("spantap_delivered_packets_total{mirror_instance=\"span1\",output=\"\(output)\"} 200"), "\(output)")
        }
        #expect(samples.contains("spantap_remote_path_mtu_bytes{mirror_instance=\"span1\",output=\"gre1\"} 1500.0"))
        #expect(samples.contains("spantap_remote_send_errors_total{mirror_instance=\"span1\",output=\"gre1\",reason=\"no_route\"} 0"))
        #expect(body.contains("# HELP spantap_remote_too_big_total "))
    }

    @Test func idleConnectionsDelayNoScrapeAndAreClosed() throws {
        let (lab, _) = try DaemonLab.startedWithTap(extraArguments: ["--metrics", "127.0.0.1:0"])
        defer { lab.cleanUp() }
        let port = try #require(lab.metricsPort())
        let pid = try #require(lab.process?.processIdentifier)
        _ = try scrape(port: port)  // the first scrape creates the series; count fds after it
        usleep(200_000)  // the daemon closes that connection's fd just after the client saw EOF
        let fdsBefore = try openDescriptors(pid)

        let idle = try (0..<20).map { _ in try connectTCP(port: port) }
        defer { idle.forEach { close($0) } }
        let answer = try scrape(port: port)
        #expect(answer.status.hasPrefix("HTTP/1.1 200"))
        #expect(answer.seconds < 0.5, "a scrape behind 20 idle connections took \(answer.seconds) s")

        // Each idle one is closed by the daemon: at once past the cap, else at its 1 s deadline.
        for fd in idle {
            var timeout = timeval(tv_sec: 3, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var byte: UInt8 = 0
            #expect(recv(fd, &byte, 1, 0) == 0, "idle connection not closed by the daemon")
        }
        #expect(waitUntil(seconds: 2) { (try? openDescriptors(pid)) == fdsBefore }, "fds \(fdsBefore) -> \((try? openDescriptors(pid)) ?? -1)")
    }

    private func openDescriptors(_ pid: Int32) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
    }

    private func connectTCP(port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in(sin_family: sa_family_t(AF_INET), sin_port: port.bigEndian,
                                  sin_addr: in_addr(s_addr: UInt32(0x7f00_0001).bigEndian), sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw CommandFailure(command: ["connect 127.0.0.1:\(port)"], status: errno, output: String(cString: strerror(errno)))
        }
        return fd
    }

    /// One scrape as Prometheus makes it; returns the status line, the body and how long it took.
    private func scrape(port: UInt16) throws -> (status: String, seconds: Double, body: String) {
        let start = monotonicSeconds()
        let fd = try connectTCP(port: port)
        defer { close(fd) }
        let request = Array("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/plain\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var response: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 65536)
        while case let n = recv(fd, &chunk, chunk.count, 0), n > 0 { response += chunk.prefix(n) }
        let seconds = monotonicSeconds() - start
        let text = String(decoding: response, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        return (String(text.prefix { $0 != "\r" }), seconds, parts.dropFirst().joined(separator: "\r\n\r\n"))
    }
}
