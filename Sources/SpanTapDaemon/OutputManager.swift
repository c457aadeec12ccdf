import Dispatch
import Logging
import SpanTapConfig
import SpanTapLink
import SpanTapSink
import SystemPackage

/// Keeps the set of mirror outputs equal to what the config asks for, and keeps each one working
/// while links come and go. Confined to the daemon queue.
final class OutputManager {
    private let queue: DispatchQueue
    private let control: LinkControl
    private let sink: SinkService
    private let logger: Logger
    /// MTU given to the devices spantapd creates (TAPs, VXLAN): the largest frame a ring slot
    /// carries, less its Ethernet header, so no mirrored frame is refused for size.
    private let deviceMTU: UInt32
    private(set) var outputs: [String: ManagedOutput] = [:]
    /// Instances with several outputs: the id their rules carry, and their outputs' names.
    private(set) var fanOuts: [String: FanOut] = [:]
    /// Runs while a remote output waits for the network (see `attach`), trying it every second.
    private var remoteRetry: DispatchSourceTimer?

    struct FanOut: Equatable {
        let id: UInt32
        let members: [String]
    }

    init(queue: DispatchQueue, control: LinkControl, sink: SinkService, logger: Logger, deviceMTU: UInt32) {
        self.queue = queue
        self.control = control
        self.sink = sink
        self.logger = logger
        self.deviceMTU = deviceMTU
    }

    /// A change of outputs, prepared but not yet visible: new outputs exist (devices created) but
    /// receive nothing until `commit`; `rollback` undoes them.
    struct Plan {
        fileprivate(set) var added: [ManagedOutput] = []
        fileprivate(set) var removed: [String] = []
        fileprivate(set) var persistence: [String: Bool] = [:]
        /// Outputs whose tunnel settings (or kind) changed, already re-made in place (same id, same
        /// counters) but out of the sink until `commit`: their records count as no_binding meanwhile.
        fileprivate(set) var replaced: [(output: ManagedOutput, previous: MirrorOutput.Tunnel)] = []
        /// Existing outputs whose TAP must be made again with another number of queues.
        fileprivate(set) var requeued: [String: Int] = [:]
        /// Every fan-out of the new config (one that stays keeps its id).
        fileprivate(set) var fanOuts: [String: FanOut] = [:]
    }

    private struct Wanted {
        var settings = OutputSettings()
        var instances: [String] = []
    }

    /// Creates or attaches every output `config` needs that does not exist yet, and re-makes those
    /// whose settings changed. On failure, whatever this call changed is undone and the error
    /// names the output.
    func prepare(for config: SpanTapConfig) throws -> Plan {
        var plan = Plan()
        var wanted: [String: Wanted] = [:]
        for instance in config.instances {
            for output in instance.outputs {
                let name = output.interface
                var want = wanted[name, default: Wanted()]
                want.settings.persistent = want.settings.persistent || output.persistent
                want.settings.tunnel = output.tunnel
                want.settings.queues = queueCount(output.queues)
                want.instances.append(instance.name)
                wanted[name] = want
            }
        }
        var usedIDs = Set(outputs.values.map(\.id)).union(fanOuts.values.map(\.id))
        for instance in config.instances where instance.outputs.count > 1 {
            let members = instance.outputs.map(\.interface)
            let id = fanOuts[instance.name]?.id ?? Self.takeFreeID(&usedIDs)
            plan.fanOuts[instance.name] = FanOut(id: id, members: members)
        }
        do {
            for name in wanted.keys.sorted() {
                let want = wanted[name]!
                if let output = outputs[name] {
                    guard output.settings.tunnel != want.settings.tunnel else { continue }
                    plan.replaced.append((output, output.settings.tunnel))
                    try replace(output, with: want.settings.tunnel)
                    continue
                }
                let id = Self.takeFreeID(&usedIDs)
                let alias = Self.alias(for: want.instances)
                let attachment = try attach(name, want.settings, alias: alias)
                // The same instances' tunnel moving to a new device (a new VNI names a new
                // stv<vni>) is one output to them: its totals carry on. The two never deliver
                // at once to the shared counters from two threads: the sink queue is their only writer.
                let predecessor = want.settings.tunnel.vxlan == nil ? nil : outputs.values.first {
                    $0.settings.tunnel.vxlan != nil && $0.alias == alias && wanted[$0.configuredName] == nil
                }
                let output = ManagedOutput(id: id, name: name, alias: alias, settings: want.settings, attachment: attachment,
                                           counters: predecessor?.counters ?? OutputCounters())
                if let predecessor {
                    output.recreated = predecessor.recreated
                    output.retiredTransmitErrors = predecessor.transmitErrors
                }
                plan.added.append(output)
            }
        } catch {
            rollback(plan)
            throw error
        }
        plan.removed = outputs.keys.filter { wanted[$0] == nil }.sorted()
        plan.persistence = wanted.mapValues(\.settings.persistent)
        for (name, output) in outputs {
            if let queues = wanted[name]?.settings.queues, queues != output.settings.queues { plan.requeued[name] = queues }
        }
        return plan
    }

    func rollback(_ plan: Plan) {
        for output in plan.added { detach(output) }
        for (output, previous) in plan.replaced.reversed() {
            do {
                try replace(output, with: previous)
                if let sinkOutput = output.sinkOutput() { sink.addOutput(sinkOutput) }
            } catch {
                logger.error("cannot restore output after a refused change", metadata: ["output": "\(output.configuredName)", "error": "\(error)"])
            }
        }
    }

    /// Makes the plan live: new and re-made outputs start receiving, outputs no longer named are removed.
    func commit(_ plan: Plan) {
        for output in plan.added {
            outputs[output.configuredName] = output
            // Missing: a remote session waiting for the network, which `attach` logged.
            guard let sinkOutput = output.sinkOutput() else { continue }
            sink.addOutput(sinkOutput)
            logger.info("output ready", metadata: ["output": "\(output.configuredName)", "kind": "\(output.kind)",
                                                   "ifindex": "\(output.ifindex)", "id": "\(output.id)"])
        }
        for (output, _) in plan.replaced {
            if let sinkOutput = output.sinkOutput() { sink.addOutput(sinkOutput) }
            logger.info("output re-made with new settings", metadata: ["output": "\(output.configuredName)", "kind": "\(output.kind)",
                                                                      "ifindex": "\(output.ifindex)", "id": "\(output.id)"])
        }
        for name in plan.removed {
            guard let output = outputs.removeValue(forKey: name) else { continue }
            detach(output)
            logger.info("output removed", metadata: ["output": "\(name)"])
        }
        for (name, persistent) in plan.persistence { outputs[name]?.settings.persistent = persistent }
        for (instance, fanOut) in plan.fanOuts where fanOuts[instance] != fanOut {
            sink.setFanOut(id: fanOut.id, members: fanOut.members.compactMap { outputs[$0]?.id })
        }
        for (instance, fanOut) in fanOuts where plan.fanOuts[instance] == nil { sink.setFanOut(id: fanOut.id, members: nil) }
        fanOuts = plan.fanOuts
        for (name, queues) in plan.requeued.sorted(by: { $0.key < $1.key }) {
            guard let output = outputs[name] else { continue }
            requeue(output, to: queues)
        }
    }

    /// A TAP's queue mode is fixed at creation, so another number of queues means a new TAP (a
    /// persistent one too): the output keeps its id and counters; frames meanwhile count as
    /// no_binding. Unlike the rest of a reload this cannot be prepared before the commit, since
    /// the new TAP takes the old one's name; if it fails the output is missing, as after a
    /// failed re-creation.
    private func requeue(_ output: ManagedOutput, to queues: Int) {
        let ifindex = output.ifindex
        let wasTap: Bool
        if case .tap = output.attachment { wasTap = true } else { wasTap = false }
        detach(output)
        if wasTap && output.settings.persistent { try? control.delete(index: ifindex) }
        let from = output.settings.queues
        output.settings.queues = queues
        guard attachAgain(output) else { return }
        logger.info("output re-created with another number of queues",
                    metadata: ["output": "\(output.configuredName)", "queues": "\(queues)", "was": "\(from)"])
    }

    /// `output { queues }` as a count: `auto` is one queue per sink worker.
    private func queueCount(_ queues: OutputQueues) -> Int {
        switch queues {
        case .auto: sink.workerCount
        case .count(let count): count
        }
    }

    /// The lowest id not in `used`, now in it: output and fan-out ids share one space, small and
    /// dense, so the sink finds a record's output by index.
    private static func takeFreeID(_ used: inout Set<UInt32>) -> UInt32 {
        let id = (0...).lazy.map(UInt32.init).first { !used.contains($0) }!
        used.insert(id)
        return id
    }

    /// The output id an instance's rules carry: its output's, or its fan-out's.
    func selectionID(for instance: MirrorInstance) -> UInt32? {
        instance.outputs.count > 1 ? fanOuts[instance.name]?.id : outputs[instance.output.interface]?.id
    }

    /// Removes every output (devices deleted unless persistent).
    func removeAll() {
        remoteRetry?.cancel()
        remoteRetry = nil
        for fanOut in fanOuts.values { sink.setFanOut(id: fanOut.id, members: nil) }
        fanOuts.removeAll()
        for output in outputs.values { detach(output) }
        outputs.removeAll()
    }

    /// Keeps outputs working through link changes made behind spantapd's back.
    func handle(_ event: LinkEvent) {
        switch event {
        case .removed(let link):
            guard let output = outputs.values.first(where: { $0.ifindex == link.ifindex }) else { return }
            sink.removeOutput(id: output.id)
            if output.ownsDevice {
                if case .tap(let tap) = output.attachment { try? tap.remove() }  // closes its fd
                output.attachment = .missing
                recreate(output)
            } else {
                output.attachment = .missing
                logger.warning("output port vanished; its frames count as no_binding until it returns",
                               metadata: ["output": "\(output.currentName)"])
            }
        case .renamed(let link, let from):
            guard let output = outputs.values.first(where: { $0.ifindex == link.ifindex }) else { return }
            output.currentName = link.name
            logger.info("output renamed; following it", metadata: ["output": "\(from)", "now": "\(link.name)"])
        case .added(let link):
            guard let output = outputs[link.name], case .missing = output.attachment else { return }
            recreate(output)
        case .stateChanged:
            break // A downed output answers writes with EIO; the sink counts those as no_binding.
        }
    }

    private func recreate(_ output: ManagedOutput) {
        guard attachAgain(output) else { return }
        if output.ownsDevice { output.recreated += 1 }
        logger.warning("output re-created", metadata: ["output": "\(output.configuredName)", "kind": "\(output.kind)",
                                                       "ifindex": "\(output.ifindex)", "recreated": "\(output.recreated)"])
    }

    /// Attaches `output` anew under its configured name and hands it to the sink; false (and
    /// logged, the output missing) if that fails.
    private func attachAgain(_ output: ManagedOutput) -> Bool {
        do {
            output.attachment = try attach(output.configuredName, output.settings, alias: output.alias)
            output.currentName = output.configuredName
            if let sinkOutput = output.sinkOutput() { sink.addOutput(sinkOutput) }
            return true
        } catch {
            output.attachment = .missing
            logger.error("cannot re-create output", metadata: ["output": "\(output.configuredName)", "error": "\(error)"])
            return false
        }
    }

    /// Swaps `output`'s device for one made to `tunnel` (neither: a TAP or port), keeping its id
    /// and counters. Leaves it out of the sink: the caller adds it back when the change is live.
    private func replace(_ output: ManagedOutput, with tunnel: MirrorOutput.Tunnel) throws {
        detach(output)
        output.settings.tunnel = tunnel
        output.attachment = try attach(output.configuredName, output.settings, alias: output.alias)
        output.currentName = output.configuredName
    }

    /// A `vxlan` output is a VXLAN device of ours, an `erspan` or `gre` one a GRE socket of ours;
    /// otherwise a missing interface becomes a TAP of ours (with `settings.queues` queues), an existing TAP
    /// is re-attached, and any other existing interface is used as a port.
    ///
    /// A remote output whose remote has no route yet, or whose `local` address is on no interface
    /// yet, is not an error but missing for now: spantapd starts before the network is configured
    /// (the unit runs after network-pre.target), and a collector out of reach must not keep the
    /// rest of the mirror from starting. A VXLAN device takes the same situation in its stride.
    private func attach(_ name: String, _ settings: OutputSettings, alias: String) throws -> ManagedOutput.Attachment {
        if let gre = settings.tunnel.gre {
            do {
                return try remoteAttachment(name, gre)
            } catch {
                guard error.waitsForTheNetwork else { throw error }
                logger.warning("the output's remote cannot be reached yet: its frames count as no_binding until it can; tried again every second",
                               metadata: ["output": "\(name)", "remote": "\(gre.remote)", "error": "\(error)"])
                retryRemotesEverySecond()
                return .missing
            }
        }
        if let vxlan = settings.tunnel.vxlan {
            let configuration = VXLANConfiguration(remote: vxlan.remote, local: vxlan.local, vni: vxlan.vni, dstport: vxlan.dstport,
                                                   mtu: deviceMTU, alias: alias, persistent: settings.persistent)
            return .vxlan(try VXLANOutput.create(name: name, configuration: configuration, control: control))
        }
        if let link = try control.link(named: name), link.kind != "tun" {
            return .port(try PortOutput(link))
        }
        let configuration = TapConfiguration(mtu: deviceMTU, alias: alias, persistent: settings.persistent, queues: settings.queues)
        return .tap(try TapOutput.create(name: name, configuration: configuration, control: control))
    }

    private func remoteAttachment(_ name: String, _ gre: GRETunnel) throws(LinkError) -> ManagedOutput.Attachment {
        let socket = try GRESocket(name: name, remote: gre.remote, local: gre.local)
        do {
            return .remote(socket, try TunnelSession(header: TunnelHeader(gre.headerKind), ipv6: socket.isIPv6, descriptor: socket.descriptor))
        } catch {
            throw LinkError(operation: "read path MTU", device: name, errno: error)
        }
    }

    private func retryRemotesEverySecond() {
        guard remoteRetry == nil else { return }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + 1, repeating: 1)
        timer.setEventHandler { [weak self] in self?.connectWaitingRemotes() }
        timer.activate()
        remoteRetry = timer
    }

    /// Hands the sink each remote output that waited for the network and now connects; the timer
    /// stops once none waits.
    private func connectWaitingRemotes() {
        var waiting = 0
        for output in outputs.values {
            guard case .missing = output.attachment, let gre = output.settings.tunnel.gre else { continue }
            guard let attachment = try? remoteAttachment(output.configuredName, gre) else {
                waiting += 1
                continue
            }
            output.attachment = attachment
            if let sinkOutput = output.sinkOutput() { sink.addOutput(sinkOutput) }
            logger.info("the output's remote can be reached: it sends from now on",
                        metadata: ["output": "\(output.configuredName)", "remote": "\(gre.remote)"])
        }
        if waiting == 0 {
            remoteRetry?.cancel()
            remoteRetry = nil
        }
    }

    /// "spantap: span1,span2", shown by `ip link`. The kernel refuses an ifalias over 255 bytes
    /// (IFALIASZ - 1), which would fail the whole output, so when many instances share one
    /// output the names that do not fit are counted instead ("spantap: span1,+7 more").
    static func alias(for instances: [String]) -> String {
        let limit = 255, roomForMore = ",+9999 more".utf8.count
        var alias = "spantap: "
        for (index, name) in instances.enumerated() {
            let piece = (index == 0 ? "" : ",") + name
            let isLast = index == instances.count - 1
            guard alias.utf8.count + piece.utf8.count <= limit - (isLast ? 0 : roomForMore) else {
                return alias + (index == 0 ? "" : ",") + "+\(instances.count - index) more"
            }
            alias += piece
        }
        return alias
    }

    private func detach(_ output: ManagedOutput) {
        sink.removeOutput(id: output.id)
        do {
            switch output.attachment {
            case .tap(let tap): try tap.remove()
            case .vxlan(let device):
                output.retiredTransmitErrors += device.transmitErrors() ?? TransmitErrors()
                try device.remove()
            case .port, .remote, .missing: break
            }
        } catch {
            logger.error("cannot remove output device", metadata: ["output": "\(output.currentName)", "error": "\(error)"])
        }
        output.attachment = .missing
    }
}

private extension LinkError {
    /// Failed only because the network is not there yet: no route to the remote, or the local
    /// address on no interface.
    var waitsForTheNetwork: Bool {
        [Errno.networkUnreachable, .noRouteToHost, .addressNotAvailable, .networkDown].contains(errno)
    }
}
