import Glibc
import SpanTapControl
import SpanTapSink
import SystemPackage

/// One `spantap capture` client: its sink output and what it was told it selects.
struct ActiveCapture {
    let output: CaptureOutput
    let peer: ControlPeer
    /// The instances it captures (the rules' of these, whatever a reload makes them).
    let instances: [String]
    /// The interfaces its client has been told of, at the start and since (announced); counts 0
    /// here, `report` fills them from the sink's.
    var interfaces: [CaptureReport.Interface]
    let queueBytes: Int
    /// Per interface name, its bindings' ring drops when the capture began copying it.
    var ringDropsAtStart: [String: UInt64]

    /// The counts now; `ringDrops`: the bindings' ring drops now, per interface name. Ring drops
    /// are known by name only, so a port re-created under its name (a new ifindex, announced as
    /// another interface) has them on its newest interface, and the sum stays right.
    func report(ringDrops: [String: UInt64]) -> CaptureReport {
        let counts = output.interfaceCounts
        let newest = Dictionary(interfaces.map { ($0.name, $0.ifindex) }, uniquingKeysWith: { $1 })
        return CaptureReport(id: output.id, pid: peer.pid, instances: instances, interfaces: interfaces.map { interface in
            var counted = interface
            counted.frames = counts[interface.ifindex]?.frames ?? 0
            counted.drops = counts[interface.ifindex]?.drops ?? 0
            counted.ringDrops = newest[interface.name] != interface.ifindex ? 0
                : (ringDrops[interface.name] ?? 0) &- (ringDropsAtStart[interface.name] ?? 0)
            return counted
        }, queueBytes: queueBytes)
    }
}

extension Daemon {
    /// Bytes a capture client's socket may queue before its copies are dropped: a few thousand
    /// full-size frames, so a client that is briefly descheduled loses nothing.
    static let captureQueueBytes: Int32 = 8 << 20

    /// Adds a temporary capture output on `request.instances` (all if empty) for `peer`, within
    /// `--max-captures`; returns its report and the client's end of the frame socket.
    func startCapture(_ request: CaptureRequest, peer: ControlPeer) throws(CaptureRefusal) -> (CaptureReport, FileDescriptor) {
        guard captures[peer.connection] == nil else {
            throw CaptureRefusal("this connection already has a capture; one capture per connection")
        }
        let all = mirrorRules()
        let known = Set(all.map(\.instance))
        if let unknown = request.instances.first(where: { !known.contains($0) }) {
            throw CaptureRefusal("no mirror instance named '\(unknown)' (instances: \(known.sorted().joined(separator: ", ")))")
        }
        let wanted = request.instances.isEmpty ? known : Set(request.instances)
        let rules = Self.rules(all, of: wanted)
        guard !rules.isEmpty else {
            throw CaptureRefusal("nothing to capture: no rule of \(wanted.sorted().joined(separator: ", ")) has its interface and output up")
        }
        guard captures.count < options.maximumCaptures else {
            throw CaptureRefusal("\(captures.count) captures are running, the limit (spantapd --max-captures) is \(options.maximumCaptures)")
        }
        let interfaces = captureInterfaces(rules)
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw CaptureRefusal("socketpair: \(Errno.last)")
        }
        _ = fcntl(pair[0], F_SETFL, O_NONBLOCK)
        var queueBytes = Self.captureQueueBytes
        // SO_SNDBUFFORCE (root) goes past net.core.wmem_max; SO_SNDBUF is the fallback.
        if setsockopt(pair[0], SOL_SOCKET, SO_SNDBUFFORCE, &queueBytes, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            _ = setsockopt(pair[0], SOL_SOCKET, SO_SNDBUF, &queueBytes, socklen_t(MemoryLayout<Int32>.size))
        }
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = getsockopt(pair[0], SOL_SOCKET, SO_SNDBUF, &queueBytes, &length)
        let output = CaptureOutput(id: nextCaptureID, descriptor: FileDescriptor(rawValue: pair[0]))
        nextCaptureID += 1
        let ringDrops = bindingRingDrops()
        let capture = ActiveCapture(output: output, peer: peer, instances: wanted.sorted(), interfaces: interfaces,
                                    queueBytes: Int(queueBytes), ringDropsAtStart: ringDrops)
        captures[peer.connection] = capture
        sink.addCapture(output, selections: captureSelections(capture, rules: rules))
        logger.info("capture started", metadata: ["capture": "\(output.id)", "pid": "\(peer.pid)",
                                                  "instances": "\(capture.instances.joined(separator: ","))"])
        return (capture.report(ringDrops: ringDrops), FileDescriptor(rawValue: pair[1]))
    }

    /// Ends the capture of `connection` (asked for, or the client went away): the sink lets go of
    /// its socket, which is closed, so the client reads what is queued and then end of file.
    /// Returns its final counts.
    @discardableResult
    func endCapture(connection: Int) -> CaptureReport? {
        guard let capture = captures.removeValue(forKey: connection) else { return nil }
        sink.removeCapture(id: capture.output.id)
        try? capture.output.descriptor.close()
        let report = capture.report(ringDrops: bindingRingDrops())
        logger.info("capture ended", metadata: ["capture": "\(report.id)", "pid": "\(report.pid)",
                                                "frames": "\(report.frames)", "drops": "\(report.drops)"])
        return report
    }

    /// Those of `rules` that `instances` own and that are up (have a ring rule): what a capture of
    /// them copies.
    static func rules(_ rules: [ResolvedRule], of instances: Set<String>) -> [ResolvedRule] {
        rules.filter { instances.contains($0.instance) && $0.ringRule != nil }
    }

    /// The interfaces (an Interface Description Block each in the client's file) whose frames
    /// `rules` select: one per port, with the instances that select it and the largest snap length.
    func captureInterfaces(_ rules: [ResolvedRule]) -> [CaptureReport.Interface] {
        var interfaces: [CaptureReport.Interface] = []
        for rule in rules {
            let ifindex = UInt32(rule.ifindex)
            if let index = interfaces.firstIndex(where: { $0.ifindex == ifindex }) {
                if !interfaces[index].instances.contains(rule.instance) { interfaces[index].instances.append(rule.instance) }
                // 0 (whole frames) is the largest snap length of all.
                if interfaces[index].snapLength != 0 { interfaces[index].snapLength = rule.snapLength == 0 ? 0 : max(interfaces[index].snapLength, rule.snapLength) }
            } else {
                // A unit rule (fwd-a.100) mirrors frames of the port: the IDB names the port.
                let name = ((try? control.link(index: rule.ifindex)) ?? nil)?.name ?? rule.interface
                interfaces.append(CaptureReport.Interface(name: name, ifindex: ifindex, instances: [rule.instance], snapLength: rule.snapLength))
            }
        }
        return interfaces
    }

    /// What `capture` copies under `rules` (the mirror rules now): its instances' rules on the
    /// interfaces announced to its client (the client has no Interface Description Block for
    /// any other, so their frames are left out).
    func captureSelections(_ capture: ActiveCapture, rules: [ResolvedRule]) -> Set<CaptureOutput.Selection> {
        let announced = Set(capture.interfaces.map(\.ifindex)), instances = Set(capture.instances)
        return Set(Self.rules(rules, of: instances).filter { announced.contains(UInt32($0.ifindex)) }.map {
            CaptureOutput.Selection(outputID: $0.outputID, ifindex: UInt32($0.ifindex), direction: $0.direction)
        })
    }

    /// The rules changed (reload, apply, links) to `rules`: every capture follows its instances,
    /// onto interfaces it did not have as well: each is announced to the client (which adds an
    /// IDB) before its frames are selected. One whose announcement finds the client's queue full
    /// is left out, and logged.
    func captureRulesChanged(_ rules: [ResolvedRule]) {
        for (connection, var capture) in captures {
            let instances = Set(capture.instances), announced = Set(capture.interfaces.map(\.ifindex))
            let added = captureInterfaces(Self.rules(rules, of: instances)).filter { !announced.contains($0.ifindex) }
            let ringDrops = added.isEmpty ? [:] : bindingRingDrops()
            for interface in added {
                guard let bytes = try? ControlCodec.encodeLine(interface), capture.output.announce(bytes) else {
                    logger.warning("capture: its client's queue is full, so the interface a change added is left out of it",
                                   metadata: ["capture": "\(capture.output.id)", "interface": "\(interface.name)"])
                    continue
                }
                capture.interfaces.append(interface)
                if capture.ringDropsAtStart[interface.name] == nil { capture.ringDropsAtStart[interface.name] = ringDrops[interface.name] ?? 0 }
                logger.info("capture follows its instances onto another interface",
                            metadata: ["capture": "\(capture.output.id)", "interface": "\(interface.name)"])
            }
            captures[connection] = capture
            sink.setSelections(captureSelections(capture, rules: rules), forCapture: capture.output.id)
        }
    }

    /// Per interface, the clones its bindings dropped for a full ring since they started (the
    /// counters of parked cross-connects carry on, so a difference never goes negative).
    func bindingRingDrops() -> [String: UInt64] {
        bindingStatus().reduce(into: [:]) { $0[$1.interface, default: 0] &+= $1.mirrorDropsQueueFull }
    }

    /// Captures whose client closed its frame socket without closing the control connection.
    func endAbandonedCaptures() {
        for (connection, capture) in captures where capture.output.clientGone { endCapture(connection: connection) }
    }
}

/// Why a `capture` was refused, as the operator reads it.
struct CaptureRefusal: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
