import Logging
import SpanTapConfig
import SpanTapLink
import SpanTapSink

/// Keeps the set of mirror outputs equal to what the config asks for, and keeps each one working
/// while links come and go. Confined to the daemon queue.
final class OutputManager {
    private let control: LinkControl
    private let sink: SinkService
    private let logger: Logger
    /// MTU given to TAPs spantapd creates: the largest frame a ring slot carries, less its
    /// Ethernet header.
    private let tapMTU: UInt32
    private(set) var outputs: [String: ManagedOutput] = [:]

    init(control: LinkControl, sink: SinkService, logger: Logger, tapMTU: UInt32) {
        self.control = control
        self.sink = sink
        self.logger = logger
        self.tapMTU = tapMTU
    }

    /// A change of outputs, prepared but not yet visible: new outputs exist (TAPs created) but
    /// receive nothing until `commit`; `rollback` undoes them.
    struct Plan {
        fileprivate(set) var added: [ManagedOutput] = []
        fileprivate(set) var removed: [String] = []
        fileprivate(set) var persistence: [String: Bool] = [:]
        /// Existing outputs whose TAP must be made again with another number of queues.
        fileprivate(set) var requeued: [String: Int] = [:]
    }

    /// Creates or attaches every output `config` needs that does not exist yet. On failure,
    /// whatever this call created is removed again and the error names the output.
    func prepare(for config: SpanTapConfig) throws -> Plan {
        var plan = Plan()
        var wanted: [String: (persistent: Bool, queues: Int, instances: [String])] = [:]
        for instance in config.instances {
            let name = instance.output.interface
            // The validator made instances sharing an output agree on its queues.
            var entry = wanted[name] ?? (false, queueCount(instance.output.queues), [])
            entry.persistent = entry.persistent || instance.output.persistent
            entry.instances.append(instance.name)
            wanted[name] = entry
        }
        var usedIDs = Set(outputs.values.map(\.id))
        do {
            for name in wanted.keys.sorted() where outputs[name] == nil {
                let id = (0...).lazy.map(UInt32.init).first { !usedIDs.contains($0) }!
                usedIDs.insert(id)
                let (persistent, queues, instances) = wanted[name]!
                let alias = Self.alias(for: instances)
                let attachment = try attach(name, persistent: persistent, queues: queues, alias: alias)
                plan.added.append(ManagedOutput(id: id, name: name, persistent: persistent, queues: queues, alias: alias,
                                                attachment: attachment))
            }
        } catch {
            rollback(plan)
            throw error
        }
        plan.removed = outputs.keys.filter { wanted[$0] == nil }.sorted()
        plan.persistence = wanted.mapValues(\.persistent)
        for (name, output) in outputs {
            if let queues = wanted[name]?.queues, queues != output.queues { plan.requeued[name] = queues }
        }
        return plan
    }

    func rollback(_ plan: Plan) {
        for output in plan.added { detach(output) }
    }

    /// Makes the plan live: new outputs start receiving, outputs no longer named are removed.
    func commit(_ plan: Plan) {
        for output in plan.added {
            outputs[output.configuredName] = output
            if let sinkOutput = output.sinkOutput() { sink.addOutput(sinkOutput) }
            logger.info("output ready", metadata: ["output": "\(output.configuredName)", "kind": "\(output.kind)",
                                                   "ifindex": "\(output.ifindex)", "id": "\(output.id)"])
        }
        for name in plan.removed {
            guard let output = outputs.removeValue(forKey: name) else { continue }
            detach(output)
            logger.info("output removed", metadata: ["output": "\(name)"])
        }
        for (name, persistent) in plan.persistence { outputs[name]?.persistent = persistent }
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
        if wasTap && output.persistent { try? control.delete(index: ifindex) }
        let from = output.queues
        output.queues = queues
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

    /// Removes every output (TAPs deleted unless persistent).
    func removeAll() {
        for output in outputs.values { detach(output) }
        outputs.removeAll()
    }

    /// Keeps outputs working through link changes made behind spantapd's back.
    func handle(_ event: LinkEvent) {
        switch event {
        case .removed(let link):
            guard let output = outputs.values.first(where: { $0.ifindex == link.ifindex }) else { return }
            sink.removeOutput(id: output.id)
            if case .tap(let tap) = output.attachment {
                try? tap.remove()
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
        if case .tap = output.attachment { output.recreated += 1 }
        logger.warning("output re-created", metadata: ["output": "\(output.configuredName)", "kind": "\(output.kind)",
                                                       "ifindex": "\(output.ifindex)", "recreated": "\(output.recreated)"])
    }

    /// Attaches `output` anew under its configured name and hands it to the sink; false (and
    /// logged, the output missing) if that fails.
    private func attachAgain(_ output: ManagedOutput) -> Bool {
        do {
            output.attachment = try attach(output.configuredName, persistent: output.persistent, queues: output.queues,
                                           alias: output.alias)
            output.currentName = output.configuredName
            if let sinkOutput = output.sinkOutput() { sink.addOutput(sinkOutput) }
            return true
        } catch {
            output.attachment = .missing
            logger.error("cannot re-create output", metadata: ["output": "\(output.configuredName)", "error": "\(error)"])
            return false
        }
    }

    /// A missing interface becomes a TAP of ours; an existing TAP is re-attached; any other
    /// existing interface is used as a port.
    private func attach(_ name: String, persistent: Bool, queues: Int, alias: String) throws -> ManagedOutput.Attachment {
        if let link = try control.link(named: name), link.kind != "tun" {
            return .port(try PortOutput(link))
        }
        let configuration = TapConfiguration(mtu: tapMTU, alias: alias, persistent: persistent, queues: queues)
        return .tap(try TapOutput.create(name: name, configuration: configuration, control: control))
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
        if case .tap(let tap) = output.attachment {
            do { try tap.remove() } catch { logger.error("cannot remove TAP", metadata: ["output": "\(tap.name)", "error": "\(error)"]) }
        }
        output.attachment = .missing
    }
}
