/// A parsed, validated SpanTap configuration. Building one never touches the system, so a new
/// config can be checked completely before anything running is changed.
public struct SpanTapConfig: Equatable, Sendable {
    public var instances: [MirrorInstance] = []
    public var dataplane = Dataplane()
    public var sink = SinkSettings()

    public init() {}

    /// The instance mirroring `interface`, if any (an ingress belongs to at most one instance).
    public func instance(mirroring interface: String) -> MirrorInstance? {
        instances.first { $0.ingress.contains(interface) }
    }
}

/// `forwarding-options port-mirroring instance NAME { input {...} output {...} }`.
public struct MirrorInstance: Equatable, Sendable {
    public var name: String
    /// 0 or 1: every packet; N: packets 0, N, 2N, ... of each binding's count.
    public var rate: UInt32 = 1
    /// Snap length; nil: whole frames (frames longer than a ring slot are dropped and counted).
    public var maximumPacketLength: Int?
    public var ingress: [String] = []
    public var output: MirrorOutput

    public init(name: String, rate: UInt32 = 1, maximumPacketLength: Int? = nil, ingress: [String], output: MirrorOutput) {
        self.name = name
        self.rate = rate
        self.maximumPacketLength = maximumPacketLength
        self.ingress = ingress
        self.output = output
    }
}

/// `output { interface NAME; persistent; queues N; }`: a missing interface is created as a TAP
/// owned by spantapd (removed at shutdown unless `persistent`) with `queues` queues; an existing
/// one receives the frames as is.
public struct MirrorOutput: Equatable, Sendable {
    public var interface: String
    public var persistent: Bool
    public var queues: OutputQueues

    public init(interface: String, persistent: Bool = false, queues: OutputQueues = .count(1)) {
        self.interface = interface
        self.persistent = persistent
        self.queues = queues
    }
}

/// `dataplane { xdp-mode MODE; cross-connect NAME { interface A; interface B; } }`: SpanTap's own
/// reference AF_XDP forwarder.
public struct Dataplane: Equatable, Sendable {
    public enum XDPMode: String, Equatable, Sendable, CaseIterable {
        case native, generic, auto
    }

    public struct CrossConnect: Equatable, Sendable {
        public var name: String
        public var interfaces: [String]

        public init(name: String, interfaces: [String]) {
            self.name = name
            self.interfaces = interfaces
        }
    }

    public var xdpMode: XDPMode = .auto
    public var crossConnects: [CrossConnect] = []

    public init() {}
}
