import Logging
import Synchronization

/// Starts and stops the cross-connects of a `dataplane` config.
///
/// `start()`: validates the config, checks every interface for a leftover XDP program (ours from
/// a killed run: detached and logged; someone else's: `FastPathError.foreignXDPProgram`, nothing
/// started), then starts each cross-connect. If one fails, those already started are stopped.
/// `stop()`: joins every loop thread, deletes sockets, frees UMEMs, detaches our programs.
public final class FastPath: Sendable {
    public let config: FastPathConfig
    private let logger: Logger
    private let makeHook: @Sendable (MirrorHookContext) -> MirrorHook
    private let state = Mutex<State>(.idle)

    private enum State {
        case idle
        case running([CrossConnect])
        case stopped
    }

    /// - Parameter makeHook: builds each binding's mirror hook at start (never per packet).
    public init(config: FastPathConfig, logger: Logger = Logger(label: "spantap.fastpath"),
                makeHook: @escaping @Sendable (MirrorHookContext) -> MirrorHook = { MirrorHook(context: $0) }) {
        self.config = config
        self.logger = logger
        self.makeHook = makeHook
    }

    deinit { _ = stop() }

    public func start() throws {
        try state.withLock { state in
            guard case .idle = state else { throw FastPathError.alreadyStarted }
            try config.validate()
            try cleanLeftovers()
            var started: [CrossConnect] = []
            do {
                for cc in config.crossConnects {
                    let crossConnect = CrossConnect(name: cc.name, interfaceA: cc.interfaceA, interfaceB: cc.interfaceB,
                                                    ringSize: config.ringSize, placement: config.placement, logger: logger)
                    try crossConnect.start(mode: config.mode, preferZeroCopy: config.preferZeroCopy, makeHook: makeHook)
                    started.append(crossConnect)
                }
            } catch {
                for crossConnect in started { crossConnect.stop() }
                throw error
            }
            state = .running(started)
        }
    }

    /// Stops everything; returns each cross-connect's final report (empty if not running).
    @discardableResult
    public func stop() -> [CrossConnectReport] {
        state.withLock { state in
            guard case .running(let crossConnects) = state else { return [] }
            state = .stopped
            return crossConnects.compactMap { $0.stop() }
        }
    }

    /// Counters of every binding, read while the loops run.
    public func counters() -> [BindingCountersSnapshot] {
        state.withLock { state in
            guard case .running(let crossConnects) = state else { return [] }
            return crossConnects.flatMap { $0.counterSnapshots() }
        }
    }

    /// The running cross-connects (for status: modes, bindings, kernel statistics), as snapshots:
    /// the cross-connects themselves never leave this lock.
    public var crossConnects: [CrossConnectStatus] {
        state.withLock { state in
            guard case .running(let crossConnects) = state else { return [] }
            return crossConnects.map { $0.status() }
        }
    }

    /// Before attaching anything: a program on a configured interface is either SpanTap's
    /// leftover (libxdp's xsk_def_prog from a killed run; libxdp would silently reuse it,
    /// whatever its mode, so remove it) or someone else's (refuse to touch it).
    private func cleanLeftovers() throws {
        let interfaces = config.crossConnects.flatMap { [$0.interfaceA, $0.interfaceB] }
        var ours: [(String, UInt32)] = []
        for name in interfaces {
            let info = try InterfaceInfo(name)
            switch XDPProgramInspector.inspect(ifindex: info.ifindex) {
            case .none: break
            case .ours: ours.append((name, info.ifindex))
            case .foreign(let programs, let mode):
                throw FastPathError.foreignXDPProgram(interface: name, programs: programs, mode: mode)
            }
        }
        for (name, ifindex) in ours {
            let removed = try XDPProgramInspector.detachIfOurs(ifindex: ifindex, interface: name)
            if case .ours(let mode) = removed {
                logger.warning("\(name): removed leftover SpanTap XDP program \(XDPProgramInspector.ourProgramName) (\(mode) mode) from an earlier run")
            }
        }
    }
}
