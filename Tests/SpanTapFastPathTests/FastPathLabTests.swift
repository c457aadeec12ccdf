import Foundation
import Logging
import SpanTapTestSupport
import Testing

@testable import SpanTapFastPath

/// Real AF_XDP forwarding between two namespace hosts, through a cross-connect of the two veth
/// ends in the test's namespace. Serialized: each test attaches XDP programs and measures
/// traffic; running them side by side on 2 cores only adds noise.
@Suite(.serialized, .enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct FastPathLabTests {
    init() { NamespaceLab.ensureBPFFS() }

    private func fastPath(_ lab: NamespaceLab, mode: XDPMode, ringSize: UInt32 = 2048) -> FastPath {
        var logger = Logger(label: "test.fastpath")
        logger.logLevel = .info
        return FastPath(
            config: FastPathConfig(
                crossConnects: [CrossConnectConfig(name: "wire0", interfaceA: lab.forwarderA, interfaceB: lab.forwarderB)],
                mode: mode, ringSize: ringSize),
            logger: logger)
    }

    @Test("ping and TCP cross the forwarder; counters and frame accounting add up", arguments: [XDPMode.generic, .native])
    func forwardsPingAndTCP(mode: XDPMode) throws {
        let lab = try NamespaceLab()
        defer { lab.teardown() }
        let fastPath = fastPath(lab, mode: mode)
        defer { fastPath.stop() }
        try fastPath.start()

        let crossConnect = try #require(fastPath.crossConnects.first)
        #expect(crossConnect.mode == mode)
        #expect(crossConnect.bindMode == .copy)  // veth has no zero-copy
        #expect(try NamespaceLab.hasXDPProgram(lab.forwarderA))
        #expect(try NamespaceLab.hasXDPProgram(lab.forwarderB))

        try lab.inA("ping", "-c", "3", "-i", "0.2", "-W", "2", lab.addressB)

        // TCP: iperf3 for 2 s; the server answers one client and exits.
        let server = try lab.startInB("iperf3", "-s", "-1", "-B", lab.addressB)
        defer { server.signal(SIGKILL); server.waitUntilExit() }
        Thread.sleep(forTimeInterval: 0.5)
        let json = try lab.inA("timeout", "30", "iperf3", "-c", lab.addressB, "-t", "2", "-J")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let end = try #require(result["end"] as? [String: Any])
        let received = try #require(end["sum_received"] as? [String: Any])
        let bytes = try #require(received["bytes"] as? Double)
        let bitsPerSecond = try #require(received["bits_per_second"] as? Double)
        #expect(bytes > 1_000_000)
        print("iperf3 through \(mode) XDP: \(String(format: "%.1f", bitsPerSecond / 1e6)) Mbit/s, \(Int(bytes)) bytes")

        // Live counters, read while the loop runs.
        let live = fastPath.counters()
        #expect(live.count == 2)
        #expect(live.allSatisfy { $0.values.rxPackets > 0 })
        let running = try #require(fastPath.crossConnects.first)
        #expect(running.accountingViolations == 0)
        #expect(running.bindings.count == 2)
        for binding in running.bindings {
            print("kernel stats \(binding.interface): \(binding.kernel)")
        }

        let reports = fastPath.stop()
        let report = try #require(reports.first)
        for binding in report.bindings {
            print("\(mode): \(binding)")
            #expect(binding.values.addsUp, "rx = tx + drops: \(binding)")
        }
        let accounting = try #require(report.accounting)
        print("\(mode): \(accounting)")
        #expect(accounting.holds, "\(accounting)")
        #expect(accounting.inTXRings == 0)

        // Stop leaves nothing attached, and traffic no longer crosses.
        #expect(try !NamespaceLab.hasXDPProgram(lab.forwarderA))
        #expect(try !NamespaceLab.hasXDPProgram(lab.forwarderB))
        #expect(throws: CommandFailure.self) { try lab.inA("ping", "-c", "1", "-W", "1", lab.addressB) }
    }

    @Test("a leftover xsk program from a killed run is detached at start")
    func cleansLeftoverProgram() throws {
        let lab = try NamespaceLab()
        defer { lab.teardown() }
        // What a SIGKILLed run leaves: libxdp's xsk_def_prog attached, no socket behind it.
        try run("xdp-loader", "load", "-m", "skb", lab.forwarderA,
                "/usr/lib/x86_64-linux-gnu/bpf/xsk_def_xdp_prog.o")
        #expect(try NamespaceLab.hasXDPProgram(lab.forwarderA))
        #expect(XDPProgramInspector.inspect(ifindex: if_nametoindex(lab.forwarderA)) == .ours(mode: "generic"))

        try startsOverTheStaleProgram(lab, mode: .native)
    }

    /// Starts the fast path in `mode` where a stale program of the other mode is attached: the
    /// cross-connect comes up in `mode` and forwards, and once stopped nothing is attached.
    private func startsOverTheStaleProgram(_ lab: NamespaceLab, mode: XDPMode) throws {
        let fastPath = fastPath(lab, mode: mode, ringSize: 512)
        defer { fastPath.stop() }
        try fastPath.start()
        #expect(fastPath.crossConnects.first?.mode == mode)
        try lab.inA("ping", "-c", "2", "-i", "0.2", "-W", "2", lab.addressB)
        fastPath.stop()
        #expect(try !NamespaceLab.hasXDPProgram(lab.forwarderA))
        #expect(try !NamespaceLab.hasXDPProgram(lab.forwarderB))
    }

    @Test("a process killed with SIGKILL while bound leaves a program the next start cleans")
    func cleansAfterKilledProcess() throws {
        let lab = try NamespaceLab()
        defer { lab.teardown() }
        // A real AF_XDP user (libxdp through Python ctypes: a UMEM and a socket on queue 0, which
        // makes libxdp attach xsk_def_prog through its dispatcher), killed with SIGKILL.
        let readyFile = "/tmp/\(lab.namespaceA)-xsk-ready"
        defer { try? FileManager.default.removeItem(atPath: readyFile) }
        let child = try SpawnedProcess(["python3", "-c", Self.killedXSKUser, lab.forwarderA, readyFile])
        var ready = ""
        for _ in 0..<100 where ready.isEmpty {
            ready = (try? String(contentsOfFile: readyFile, encoding: .utf8)) ?? ""
            if ready.isEmpty { Thread.sleep(forTimeInterval: 0.1) }
        }
        #expect(ready.hasPrefix("ready 0 0"), "child said: \(ready)")
        child.signal(SIGKILL)
        #expect(child.waitUntilExit() == 128 + SIGKILL)
        #expect(try NamespaceLab.hasXDPProgram(lab.forwarderA))
        #expect(XDPProgramInspector.inspect(ifindex: if_nametoindex(lab.forwarderA)) == .ours(mode: "native"))

        try startsOverTheStaleProgram(lab, mode: .generic)
    }

    /// argv: interface, ready-file. Binds one AF_XDP socket (native XDP, copy, need_wakeup) with
    /// libxdp and sleeps until killed.
    static let killedXSKUser = """
        import ctypes, mmap, sys, time
        from ctypes import c_uint32, c_uint16, c_uint64, c_void_p, byref, POINTER
        x = ctypes.CDLL("libxdp.so.1")
        class Ring(ctypes.Structure):
            _fields_ = [("cp", c_uint32), ("cc", c_uint32), ("mask", c_uint32), ("size", c_uint32),
                        ("producer", c_void_p), ("consumer", c_void_p), ("ring", c_void_p), ("flags", c_void_p)]
        class SocketConfig(ctypes.Structure):
            _fields_ = [("rx", c_uint32), ("tx", c_uint32), ("libxdp_flags", c_uint32),
                        ("xdp_flags", c_uint32), ("bind_flags", c_uint16)]
        x.xsk_umem__create.argtypes = [POINTER(c_void_p), c_void_p, c_uint64, c_void_p, c_void_p, c_void_p]
        x.xsk_socket__create.argtypes = [POINTER(c_void_p), ctypes.c_char_p, c_uint32, c_void_p, c_void_p, c_void_p, c_void_p]
        size = 4096 * 4096
        area = mmap.mmap(-1, size)
        base = ctypes.addressof(ctypes.c_char.from_buffer(area))
        umem, fill, comp = c_void_p(), Ring(), Ring()
        rc1 = x.xsk_umem__create(byref(umem), base, size, byref(fill), byref(comp), None)
        xsk, rx, tx = c_void_p(), Ring(), Ring()
        config = SocketConfig(2048, 2048, 0, 1 << 2, (1 << 1) | (1 << 3))  # DRV_MODE; COPY | NEED_WAKEUP
        rc2 = x.xsk_socket__create(byref(xsk), sys.argv[1].encode(), 0, umem, byref(rx), byref(tx), byref(config))
        open(sys.argv[2], "w").write("ready %d %d" % (rc1, rc2))
        time.sleep(120)
        """

    @Test("an idle forwarder sleeps in poll() instead of spinning")
    func idleLoopSleeps() throws {
        let lab = try NamespaceLab()
        defer { lab.teardown() }
        let fastPath = fastPath(lab, mode: .generic, ringSize: 512)
        defer { fastPath.stop() }
        try fastPath.start()
        try lab.inA("ping", "-c", "1", "-W", "2", lab.addressB)
        Thread.sleep(forTimeInterval: 0.2)
        func cpuSeconds() -> Double {
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
                + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        }
        let before = cpuSeconds()
        Thread.sleep(forTimeInterval: 1)
        let used = cpuSeconds() - before
        print("idle forwarder: \(String(format: "%.3f", used)) s CPU in 1 s")
        #expect(used < 0.2)  // a spinning loop would use ~1 s
    }

    @Test("someone else's XDP program is left alone and reported")
    func refusesForeignProgram() throws {
        let lab = try NamespaceLab()
        defer { lab.teardown() }
        try run("xdp-loader", "load", "-m", "skb", lab.forwarderB,
                "/usr/lib/x86_64-linux-gnu/bpf/xdpfilt_alw_all.o")
        let fastPath = fastPath(lab, mode: .generic, ringSize: 512)
        defer { fastPath.stop() }
        do {
            try fastPath.start()
            Issue.record("start must fail on a foreign program")
        } catch let error as FastPathError {
            guard case .foreignXDPProgram(let interface, let programs, _) = error else {
                Issue.record("unexpected error \(error)"); return
            }
            #expect(interface == lab.forwarderB)
            #expect(!programs.isEmpty && !programs.contains(XDPProgramInspector.ourProgramName))
            #expect("\(error)".contains(lab.forwarderB))
            print("refused: \(error)")
        }
        #expect(try NamespaceLab.hasXDPProgram(lab.forwarderB))   // still there, untouched
        #expect(try !NamespaceLab.hasXDPProgram(lab.forwarderA))  // nothing attached by us
    }
}
