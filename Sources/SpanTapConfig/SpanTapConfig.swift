/// A parsed, validated SpanTap configuration. Building one never touches the system, so a new
/// config can be checked completely before anything running is changed.
public struct SpanTapConfig: Equatable, Sendable {
    /// Port-mirroring instances and analyzers, in the order the config first names them.
    public var instances: [MirrorInstance] = []
    /// `forwarding-options port-mirroring mirror-once`: a frame selected on ingress and on egress
    /// reaches an output once (the ingress copy wins).
    public var mirrorOnce = false
    public var dataplane = Dataplane()
    public var sink = SinkSettings()

    public init() {}

    /// The instance mirroring `interface`, if any (an ingress belongs to at most one instance).
    public func instance(mirroring interface: String) -> MirrorInstance? {
        instances.first { $0.ingress.contains(interface) }
    }
}

/// `forwarding-options port-mirroring instance NAME { input {...} output {...} }`, or
/// `forwarding-options analyzer NAME { input {...} output {...} }`, which may also select egress.
public struct MirrorInstance: Equatable, Sendable {
    public enum Kind: String, Equatable, Sendable {
        case portMirroring = "port-mirroring"
        case analyzer
    }

    public var name: String
    public var kind: Kind
    /// 0 or 1: every packet; N: packets 0, N, 2N, ... of each binding's count.
    public var rate: UInt32 = 1
    /// After each sampled packet, mirror the next `runLength` too (Junos `run-length`, 0...20).
    public var runLength: UInt16 = 0
    /// At most this many clones per second per binding or producer (Junos `max-packets-per-second`); 0: no limit.
    public var maxPacketsPerSecond: UInt32 = 0
    /// Snap length; nil: whole frames (frames longer than a ring slot are dropped and counted).
    public var maximumPacketLength: Int?
    /// Interfaces (or units, `NAME.UNIT`: see `InterfaceUnit`) whose received frames are mirrored.
    public var ingress: [String] = []
    /// Interfaces (or units) whose transmitted frames are mirrored (analyzers only).
    public var egress: [String] = []
    /// `input filter "EXPRESSION"`: only frames the tcpdump expression accepts are mirrored.
    public var filter: MirrorFilter?
    /// Interfaces that Junos firewall filters mirror to this instance (not in `ingress`/`egress`).
    public var firewallSelections: [FirewallSelection] = []
    /// Where each selected frame goes: one output, or up to `maximumOutputs` (`output { interface
    /// A; interface B { erspan {...} } }`, or a `next-hop-group`), each getting every frame. A
    /// frame takes one ring slot whatever their number.
    public var outputs: [MirrorOutput]

    public static let maximumOutputs = 16

    /// The first output: the only one, unless the instance fans out.
    public var output: MirrorOutput {
        get { outputs[0] }
        set { outputs[0] = newValue }
    }

    public init(name: String, kind: Kind = .portMirroring, rate: UInt32 = 1, runLength: UInt16 = 0,
                maximumPacketLength: Int? = nil, ingress: [String], egress: [String] = [], output: MirrorOutput) {
        self.name = name
        self.kind = kind
        self.rate = rate
        self.runLength = runLength
        self.maximumPacketLength = maximumPacketLength
        self.ingress = ingress
        self.egress = egress
        outputs = [output]
    }
}

/// An interface as a selector names it: a whole port (`fwd-a`, or `fwd-a.0`) or a VLAN unit of
/// one (`fwd-a.100`: frames on fwd-a whose outer VLAN id is 100), as Junos names logical units.
public struct InterfaceUnit: Equatable, Sendable {
    public var port: String
    /// 0: the whole port.
    public var unit: UInt16

    /// Reads `NAME.UNIT` (UNIT all digits, 0...4094); any other name is a whole port. A name
    /// with a unit above 4094 is nil: no VLAN id can select it.
    public init?(_ written: String) {
        let digits = written.lastIndex(of: ".").map { written[written.index(after: $0)...] } ?? ""
        guard !digits.isEmpty, digits.count <= 6, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              let dot = written.lastIndex(of: "."), dot != written.startIndex, let unit = Int(digits)
        else {
            self.init(port: written, unit: 0)
            return
        }
        guard unit <= 4094 else { return nil }
        self.init(port: String(written[..<dot]), unit: UInt16(unit))
    }

    public init(port: String, unit: UInt16) {
        self.port = port
        self.unit = unit
    }
}

/// `output { interface NAME; persistent; queues N; }`: a missing interface is created as a TAP
/// owned by spantapd (removed at shutdown unless `persistent`) with `queues` queues; an existing
/// one receives the frames as is. With `vxlan { ... }` the output is a VXLAN device spantapd
/// creates instead, named `interface` or, without it, `stv<vni>` (the validator fills the name in).
/// With `erspan { ... }` or `gre { ... }` spantapd sends the frames to a collector in GRE itself;
/// `interface` then only names the output.
public struct MirrorOutput: Equatable, Sendable {
    public var interface: String
    public var persistent: Bool
    public var vxlan: VXLANTunnel?
    public var gre: GRETunnel?
    public var queues: OutputQueues

    /// What spantapd builds for the output besides its name, compared as one value to tell
    /// whether a reload must make the output again.
    public struct Tunnel: Equatable, Sendable {
        public var vxlan: VXLANTunnel?
        public var gre: GRETunnel?

        public init(vxlan: VXLANTunnel? = nil, gre: GRETunnel? = nil) {
            self.vxlan = vxlan
            self.gre = gre
        }
    }

    public var tunnel: Tunnel { Tunnel(vxlan: vxlan, gre: gre) }

    public init(interface: String, persistent: Bool = false, vxlan: VXLANTunnel? = nil, gre: GRETunnel? = nil,
                queues: OutputQueues = .count(1)) {
        self.interface = interface
        self.persistent = persistent
        self.vxlan = vxlan
        self.gre = gre
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
    /// CPUs the forwarding threads may run on; empty: any.
    public var cpus: [Int] = []

    public init() {}
}
