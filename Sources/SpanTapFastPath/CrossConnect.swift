import Atomics
import CLibXDP
import Glibc
import Logging
import SpanTapSystem
import SystemPackage

/// A transparent L2 bump in the wire: every frame received on interface A is transmitted on B
/// and vice versa (`dataplane { cross-connect NAME { interface A; interface B; } }`).
///
/// One binding per RX queue of each side, all on one shared UMEM, all served by one thread
/// (`ForwardingLoop`). Queue q of A transmits on queue (q mod queues(B)) of B and vice versa.
/// Outside the module it is seen only through `CrossConnectStatus` snapshots.
// @unchecked: used only under FastPath's state lock; the loop thread shares atomics and LoopBox only.
final class CrossConnect: @unchecked Sendable {
    let name: String
    let interfaceA: String
    let interfaceB: String
    /// Bindings of side A (queue order) then side B. Empty until started.
    private(set) var bindings: [XSKBinding] = []
    /// Attach mode and bind mode that worked (nil until started).
    private(set) var mode: XDPMode?
    private(set) var bindMode: XSKBindMode?

    private let ringSize: UInt32
    private let logger: Logger
    private var umem: UMEM?
    private var thread: LoopThread?
    private var loopBox: LoopBox?
    private var stopEvent: FileDescriptor?
    private let stopRequested = UnsafeAtomic<Bool>.create(false)
    private let violations = UnsafeAtomic<UInt64>.create(0)
    private var infoA: InterfaceInfo?
    private var infoB: InterfaceInfo?

    /// Where the forwarding thread runs (`dataplane { cpus }`, normal class).
    private let placement: ThreadPlacement

    init(name: String, interfaceA: String, interfaceB: String, ringSize: UInt32, placement: ThreadPlacement, logger: Logger) {
        self.placement = placement
        self.name = name
        self.interfaceA = interfaceA
        self.interfaceB = interfaceB
        self.ringSize = ringSize
        var logger = logger
        logger[metadataKey: "cross-connect"] = "\(name)"
        self.logger = logger
    }

    deinit {
        _ = stop()
        stopRequested.destroy()
        violations.destroy()
    }

    /// What status shows while the loop runs; the loop keeps running.
    func status() -> CrossConnectStatus {
        CrossConnectStatus(name: name, mode: mode, bindMode: bindMode,
                           threadID: thread?.threadID.load(ordering: .acquiring) ?? 0,
                           accountingViolations: violations.load(ordering: .relaxed), bindings: counterSnapshots())
    }

    /// Creates UMEM and bindings and starts the loop. Tries each attach mode `mode` allows
    /// (auto: native, then generic) and, per mode, zero-copy then copy; every failed attempt is
    /// torn down completely (sockets, UMEM, our program) before the next, and logged.
    func start(mode requested: XDPMode, preferZeroCopy: Bool,
               makeHook: (MirrorHookContext) -> MirrorHook) throws {
        let a = try InterfaceInfo(interfaceA)
        let b = try InterfaceInfo(interfaceB)
        infoA = a; infoB = b
        var failures: [String] = []
        for attachMode in requested.attempts {
            // Generic XDP hands the kernel an skb: never zero-copy.
            let bindModes: [XSKBindMode] = (preferZeroCopy && attachMode == .native) ? [.zeroCopy, .copy] : [.copy]
            for bindMode in bindModes {
                do {
                    try createBindingsWaitingForQueues(a: a, b: b, mode: attachMode, bindMode: bindMode)
                    if !failures.isEmpty {
                        logger.notice("using \(attachMode) XDP, \(bindMode) after: \(failures.joined(separator: "; "))")
                    }
                    logger.info("cross-connect \(name): \(interfaceA) <-> \(interfaceB), \(attachMode) XDP, \(bindMode), \(bindings.count) sockets")
                    self.mode = attachMode
                    self.bindMode = bindMode
                    try startLoop(makeHook: makeHook)
                    return
                } catch {
                    failures.append("\(attachMode)/\(bindMode): \(error)")
                    logger.info("\(attachMode) XDP \(bindMode) failed: \(error)")
                    teardownBindings()
                }
            }
        }
        throw FastPathError.noUsableMode(crossConnect: name, attempts: failures)
    }

    /// EBUSY on bind means another AF_XDP socket still holds the (interface, queue). After we
    /// detached a killed run's program, its sockets are released asynchronously (the program's
    /// xsks_map held the last reference; map and sockets go away after an RCU grace period /
    /// workqueue run), so wait for the queues to become free, up to ~3 s.
    private func createBindingsWaitingForQueues(a: InterfaceInfo, b: InterfaceInfo, mode: XDPMode,
                                                bindMode: XSKBindMode) throws {
        var waitedMilliseconds = 0
        while true {
            do {
                try createBindings(a: a, b: b, mode: mode, bindMode: bindMode)
                if waitedMilliseconds > 0 {
                    logger.info("AF_XDP queues became free after \(waitedMilliseconds) ms")
                }
                return
            } catch FastPathError.system(let operation, let interface, .resourceBusy) where waitedMilliseconds < 3000 {
                if waitedMilliseconds == 0 {
                    logger.info("\(operation) on \(interface): queue busy, waiting for a previous socket to go away")
                }
                teardownBindings()
                usleep(100_000)
                waitedMilliseconds += 100
            }
        }
    }

    private func createBindings(a: InterfaceInfo, b: InterfaceInfo, mode: XDPMode, bindMode: XSKBindMode) throws {
        let socketCount = a.rxQueues + b.rxQueues
        // Enough frames that every fill ring and every TX ring can be full at once: the free
        // list then never runs dry, and a full TX ring is the only forwarding drop.
        let frames = socketCount * ringSize * 2
        let umem = try UMEM(frameCount: frames, frameSize: UInt32(XSK_UMEM__DEFAULT_FRAME_SIZE),
                            fillSize: ringSize, compSize: ringSize, interface: a.name)
        self.umem = umem
        for side in [a, b] {
            for queue in 0..<side.rxQueues {
                bindings.append(try XSKBinding(interface: side, queue: queue, umem: umem, mode: mode,
                                               bindMode: bindMode, ringSize: ringSize))
            }
        }
    }

    private func startLoop(makeHook: (MirrorHookContext) -> MirrorHook) throws {
        guard let umem, let a = infoA, let b = infoB else { return }
        let countA = Int(a.rxQueues), countB = Int(b.rxQueues)
        // Binding i of side A transmits on side B's queue (i mod countB), and vice versa.
        var peers: [Int] = []
        for q in 0..<countA { peers.append(countA + q % countB) }
        for q in 0..<countB { peers.append(q % countA) }
        let hooks = bindings.enumerated().map { i, binding in
            makeHook(MirrorHookContext(crossConnect: name, interface: binding.interface, ifindex: binding.ifindex,
                                       queue: binding.queue, peerIfindex: bindings[peers[i]].ifindex))
        }
        let stopEvent: FileDescriptor
        do {
            stopEvent = try FileDescriptor.eventFD()
        } catch {
            throw FastPathError.system(operation: "eventfd", interface: a.name, errno: error)
        }
        self.stopEvent = stopEvent
        stopRequested.store(false, ordering: .relaxed)
        let box = LoopBox(ForwardingLoop(bindings: bindings, peers: peers, hooks: hooks, umem: umem,
                                         stopFD: stopEvent.rawValue, stopRequested: stopRequested,
                                         violations: violations))
        loopBox = box
        thread = try LoopThread(name: name, placement: placement, logger: logger) { box.run() }
    }

    /// Stops the loop (joins the thread), deletes the sockets, frees the UMEM and detaches the
    /// xsk program from both interfaces. Returns the final counters and frame accounting.
    @discardableResult
    func stop() -> CrossConnectReport? {
        guard let thread else {
            teardownBindings()
            return nil
        }
        stopRequested.store(true, ordering: .relaxed)
        // Cannot fail on our own open eventfd; the loop also sees stopRequested within its 1 s poll.
        try? stopEvent?.signalEvent()
        thread.join()
        self.thread = nil
        let result = loopBox?.result
        loopBox?.loop.deallocate()
        loopBox = nil
        try? stopEvent?.close()
        stopEvent = nil
        let report = CrossConnectReport(
            name: name, mode: mode, bindMode: bindMode,
            bindings: counterSnapshots(),
            accounting: result)
        teardownBindings()
        logger.info("cross-connect \(name) stopped: \(report.accounting.map { "\($0)" } ?? "no accounting")")
        return report
    }

    /// Sockets first (they reference the UMEM), then the UMEM, then our program on both sides.
    private func teardownBindings() {
        for binding in bindings { binding.close() }
        bindings.removeAll()
        umem?.destroy()
        umem = nil
        for info in [infoA, infoB].compactMap({ $0 }) {
            do {
                try XDPProgramInspector.detachIfOurs(ifindex: info.ifindex, interface: info.name)
            } catch {
                logger.warning("could not detach xsk program from \(info.name): \(error)")
            }
        }
    }

    /// Current counters of every binding (the loop keeps running).
    func counterSnapshots() -> [BindingCountersSnapshot] {
        let countA = bindings.filter { $0.interface == interfaceA }.count
        return bindings.enumerated().map { i, binding in
            BindingCountersSnapshot(
                crossConnect: name, interface: binding.interface, ifindex: binding.ifindex,
                queue: binding.queue, peerInterface: i < countA ? interfaceB : interfaceA,
                values: binding.counters.snapshot(), kernel: binding.kernelStatistics() ?? XDPStatistics())
        }
    }
}

/// Holds the loop while its thread runs, and its result after.
// @unchecked: the loop thread owns `loop` and writes `result`; stop() reads them after the join.
private final class LoopBox: @unchecked Sendable {
    var loop: ForwardingLoop<MirrorHook>
    var result: FrameAccounting?
    init(_ loop: ForwardingLoop<MirrorHook>) { self.loop = loop }
    func run() { result = loop.run() }
}

/// A running cross-connect at one moment (`FastPath.crossConnects`).
public struct CrossConnectStatus: Sendable {
    public var name: String
    /// Attach mode and bind mode that worked.
    public var mode: XDPMode?
    public var bindMode: XSKBindMode?
    /// The forwarding thread's kernel id (0 until it runs).
    public var threadID: pid_t
    /// Frame accounting violations seen so far by the running loop (must stay 0).
    public var accountingViolations: UInt64
    /// Side A's bindings (queue order), then side B's.
    public var bindings: [BindingCountersSnapshot]
}

/// What a cross-connect reports when it stops.
public struct CrossConnectReport: Sendable {
    public var name: String
    public var mode: XDPMode?
    public var bindMode: XSKBindMode?
    public var bindings: [BindingCountersSnapshot]
    /// Frame accounting after the final TX drain (nil if the loop never ran).
    public var accounting: FrameAccounting?
}
