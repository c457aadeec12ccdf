import SpanTapRing
import SpanTapSystem

/// `spantap status --json`: every counter the daemon keeps, with the forwarder's names.
public struct StatusReport: Codable, Equatable, Sendable {
    public var daemon = Daemon()
    public var instances: [Instance] = []
    public var bindings: [Binding] = []
    public var producers: [Producer] = []
    /// `spantap capture` clients attached now (absent from daemons before captures existed).
    public var captures: [CaptureReport]?

    public init(daemon: Daemon = Daemon(), instances: [Instance] = [], bindings: [Binding] = [], producers: [Producer] = [],
                captures: [CaptureReport]? = nil) {
        self.daemon = daemon
        self.instances = instances
        self.bindings = bindings
        self.producers = producers
        self.captures = captures
    }

    private enum CodingKeys: String, CodingKey { case daemon, instances, bindings, producers, captures }

    public init(from decoder: any Decoder) throws {
        let fields = try decoder.container(keyedBy: CodingKeys.self)
        self.init(daemon: try fields.decode(Daemon.self, forKey: .daemon),
                  instances: try fields.decode([FlatEntry<Instance>].self, forKey: .instances).map(\.entry),
                  bindings: try fields.decode([FlatEntry<Binding>].self, forKey: .bindings).map(\.entry),
                  producers: try fields.decode([FlatEntry<Producer>].self, forKey: .producers).map(\.entry),
                  captures: try fields.decodeIfPresent([CaptureReport].self, forKey: .captures))
    }

    public func encode(to encoder: any Encoder) throws {
        var fields = encoder.container(keyedBy: CodingKeys.self)
        try fields.encode(daemon, forKey: .daemon)
        try fields.encode(instances.map(FlatEntry.init), forKey: .instances)
        try fields.encode(bindings.map(FlatEntry.init), forKey: .bindings)
        try fields.encode(producers.map(FlatEntry.init), forKey: .producers)
        try fields.encodeIfPresent(captures, forKey: .captures)
    }

    /// What clients make spantapd hold now, and what happened to producers that are gone.
    public struct Daemon: Codable, Equatable, Sendable {
        public var producersAttached = 0
        /// Producers cut off for breaking the ring protocol, since start.
        public var producersQuarantined: UInt64 = 0
        /// Sum of the mapping sizes of every producer ring attached now (`--max-ring-memory` bounds it).
        public var ringMemoryBytes = 0
        /// Control connections open now, the asking one included.
        public var controlConnections = 0
        /// Counters of producers that detached or were quarantined, so their totals are not lost.
        public var detachedProducers = MirrorCounters()

        public init() {}
    }

    public struct Output: Codable, Equatable, Sendable {
        public var interface: String
        public var ifindex: Int32
        /// "tap" (created or re-attached by spantapd), "port" (an existing interface), "vxlan" (a
        /// VXLAN device spantapd created), "missing".
        public var kind: String
        /// A vxlan, erspan or gre output's tunnel, as configured.
        public var remote: String?
        public var local: String?
        public var vni: UInt32?
        public var dstport: UInt16?
        /// Why frames were not sent, for outputs that can tell more than `write_errors`.
        public var writeErrorReasons: WriteErrorReasons?
        /// An erspan or gre output's session.
        public var session: RemoteSession?
        /// In an instance's `outputs` (a fan-out) only: what this output delivered of it.
        public var deliveredPackets: UInt64?
        public var deliveredBytes: UInt64?
        public var writeErrors: UInt64?
        /// How long delivered frames waited from their producer's timestamp to the end of their write.
        public var latency: Latency?

        public init(interface: String, ifindex: Int32, kind: String) {
            self.interface = interface
            self.ifindex = ifindex
            self.kind = kind
        }
    }

    /// An output's enqueue-to-write latency since spantapd set the output up (it carries on
    /// through re-creations), from the sink's histogram: one value per drained batch, an upper
    /// bound for each of the batch's frames. Frames whose producer put no timestamp are not in it.
    public struct Latency: Codable, Equatable, Sendable {
        public var samples: UInt64
        public var p50Us: Double
        public var p99Us: Double
        public var maxUs: Double
        public var sumUs: Double
        /// Cumulative: `count` frames waited at most `le_us` microseconds (Prometheus's buckets).
        public var buckets: [Bucket]

        public struct Bucket: Codable, Equatable, Sendable {
            public var leUs: UInt64
            public var count: UInt64

            public init(leUs: UInt64, count: UInt64) {
                self.leUs = leUs
                self.count = count
            }
        }

        public init(samples: UInt64, p50Us: Double, p99Us: Double, maxUs: Double, sumUs: Double, buckets: [Bucket]) {
            self.samples = samples
            self.p50Us = p50Us
            self.p99Us = p99Us
            self.maxUs = maxUs
            self.sumUs = sumUs
            self.buckets = buckets
        }
    }

    /// An ERSPAN or GRE session spantapd sends itself: what it puts on each frame, and what
    /// became of the frames it could not send whole. Frames and bytes sent are the instance's
    /// `delivered_packets` / `delivered_bytes` (bytes of the mirrored frames, without the
    /// encapsulation); each send error is also in its `write_errors`.
    public struct RemoteSession: Codable, Equatable, Sendable {
        /// ERSPAN: 2 (Type II) or 3 (Type III); nil for plain GRE.
        public var version: UInt8?
        public var sessionId: UInt16?
        /// ERSPAN Type II.
        public var index: UInt32?
        /// ERSPAN Type III.
        public var hardwareId: UInt8?
        /// GRE key; nil: none.
        public var key: UInt32?
        public var sequenceNumbers: Bool
        /// The path MTU to the remote the kernel knows now (outer IP header included).
        public var pathMtu: Int
        /// ERSPAN frames cut to fit the path MTU (sent with the T bit).
        public var truncated: UInt64 = 0
        /// GRE frames larger than the path MTU takes, dropped (GRE cannot say a frame was cut).
        public var tooBig: UInt64 = 0
        /// Sends refused: no route to the remote.
        public var noRoute: UInt64 = 0
        /// Sends refused as over a path MTU that had shrunk since spantapd last read it.
        public var messageTooLong: UInt64 = 0
        /// Sends refused because the socket's send queue was full.
        public var queueFull: UInt64 = 0
        /// Sends refused with any other errno.
        public var otherErrors: UInt64 = 0

        public init(sequenceNumbers: Bool, pathMtu: Int) {
            self.sequenceNumbers = sequenceNumbers
            self.pathMtu = pathMtu
        }
    }

    /// `write_errors` split by cause. A VXLAN device accepts every write and fails later in the
    /// kernel, so its causes come from the device's own counters.
    public struct WriteErrorReasons: Codable, Equatable, Sendable {
        /// write(2) to the output failed (e.g. a frame larger than its MTU).
        public var writeFailed: UInt64 = 0
        /// The kernel has no route to the remote.
        public var noRoute: UInt64 = 0
        /// The route to the remote leads back into the tunnel device itself.
        public var routingLoop: UInt64 = 0
        /// Any other transmit error the device counted.
        public var transmitFailed: UInt64 = 0

        public init() {}

        public var total: UInt64 { writeFailed &+ noRoute &+ routingLoop &+ transmitFailed }
    }

    @dynamicMemberLookup
    public struct Instance: MirrorSource, Equatable, Sendable {
        public var name: String
        /// "port-mirroring" or "analyzer".
        public var kind: String
        public var rate: UInt32
        public var runLength: UInt16
        /// 0: no limit.
        public var maxPacketsPerSecond: UInt32
        /// Selected interfaces as the config names them (units as `NAME.UNIT`).
        public var ingress: [String]
        public var egress: [String]
        /// `input filter`: the tcpdump expression and its program's length in instructions.
        public var filter: String?
        public var filterInstructions: Int?
        /// What Junos firewall filters mirror to this instance; absent when none do.
        public var firewallSelections: [FirewallSelection]?
        /// The first output; with several, `outputs` has each one, and the delivered and error
        /// counts here are the first output's.
        public var output: Output
        /// Present when the instance fans out to several outputs: each one with its own counts.
        public var outputs: [Output]?
        /// Summed over the rings of the bindings that mirror for it; in JSON beside the other fields.
        public var mirror = MirrorCounters()
        public var deliveredPackets: UInt64
        public var deliveredBytes: UInt64
        public var writeErrors: UInt64
        public var recreated: UInt64

        public init(name: String, kind: String = "port-mirroring", rate: UInt32, runLength: UInt16 = 0,
                    maxPacketsPerSecond: UInt32 = 0, ingress: [String],
                    egress: [String] = [], output: Output, mirror: MirrorCounters,
                    deliveredPackets: UInt64, deliveredBytes: UInt64, writeErrors: UInt64, recreated: UInt64) {
            self.name = name
            self.kind = kind
            self.rate = rate
            self.runLength = runLength
            self.maxPacketsPerSecond = maxPacketsPerSecond
            self.ingress = ingress
            self.egress = egress
            self.output = output
            self.mirror = mirror
            self.deliveredPackets = deliveredPackets
            self.deliveredBytes = deliveredBytes
            self.writeErrors = writeErrors
            self.recreated = recreated
        }

        /// `instance.mirroredPackets` and the other mirror counters, read through `mirror`.
        public subscript(dynamicMember counter: KeyPath<MirrorCounters, UInt64>) -> UInt64 { mirror[keyPath: counter] }

        /// Every field but `mirror`, whose counters `StatusReport` writes beside these (`FlatEntry`).
        private enum CodingKeys: String, CodingKey {
            case name, kind, rate, runLength, maxPacketsPerSecond, ingress, egress, filter, filterInstructions
            case firewallSelections, output, outputs, deliveredPackets, deliveredBytes, writeErrors, recreated
        }
    }

    /// An interface (or unit) and direction whose frames firewall filters mirror to an instance.
    public struct FirewallSelection: Codable, Equatable, Sendable {
        public var interface: String
        /// "ingress" (`filter input`) or "egress" (`filter output`).
        public var direction: String
        /// The bound filters, `inet NAME` / `inet6 NAME`.
        public var firewallFilters: [String]
        /// The terms as one tcpdump expression, and its program's length.
        public var filter: String
        public var filterInstructions: Int

        public init(interface: String, direction: String, firewallFilters: [String], filter: String, filterInstructions: Int) {
            self.interface = interface
            self.direction = direction
            self.firewallFilters = firewallFilters
            self.filter = filter
            self.filterInstructions = filterInstructions
        }
    }

    /// One AF_XDP socket of the reference forwarder.
    @dynamicMemberLookup
    public struct Binding: MirrorSource, Equatable, Sendable {
        public var interface: String
        public var queue: UInt32
        public var mode: String
        public var rxPackets: UInt64
        public var txPackets: UInt64
        public var txDrops: UInt64
        /// Its ring's counters; in JSON beside the other fields.
        public var mirror = MirrorCounters()
        /// The kernel's XDP_STATISTICS for the socket: frames dropped before the forwarder's RX
        /// ring (`rx_ring_full`, `rx_dropped`), fill ring found empty, invalid descriptors.
        public var kernel: XDPStatistics

        public init(interface: String, queue: UInt32, mode: String, rxPackets: UInt64, txPackets: UInt64, txDrops: UInt64,
                    mirror: MirrorCounters = MirrorCounters(), kernel: XDPStatistics = XDPStatistics()) {
            self.interface = interface
            self.queue = queue
            self.mode = mode
            self.rxPackets = rxPackets
            self.txPackets = txPackets
            self.txDrops = txDrops
            self.mirror = mirror
            self.kernel = kernel
        }

        /// `binding.mirroredPackets` and the other mirror counters, read through `mirror`.
        public subscript(dynamicMember counter: KeyPath<MirrorCounters, UInt64>) -> UInt64 { mirror[keyPath: counter] }

        /// Every field but `mirror` (see `Instance`).
        private enum CodingKeys: String, CodingKey { case interface, queue, mode, rxPackets, txPackets, txDrops, kernel }
    }

    /// An external forwarder attached over the control socket.
    @dynamicMemberLookup
    public struct Producer: MirrorSource, Equatable, Sendable {
        public var name: String
        public var pid: Int32
        public var slotCount: Int
        /// When it attached to this spantapd (RFC 3339, UTC).
        public var attachedAt: String
        /// How many times it attached before, as it said in its attach request (a session counts
        /// its own attaches, across spantapd restarts).
        public var reattaches: Int
        /// Its ring's counters and the sink's checks of its records; in JSON beside the other fields.
        public var mirror = MirrorCounters()

        public init(name: String, pid: Int32, slotCount: Int, attachedAt: String = "", reattaches: Int = 0, mirror: MirrorCounters) {
            self.name = name
            self.pid = pid
            self.slotCount = slotCount
            self.attachedAt = attachedAt
            self.reattaches = reattaches
            self.mirror = mirror
        }

        /// `producer.mirroredPackets` and the other counters, read through `mirror`.
        public subscript(dynamicMember counter: KeyPath<MirrorCounters, UInt64>) -> UInt64 { mirror[keyPath: counter] }

        /// Every field but `mirror` (see `Instance`).
        private enum CodingKeys: String, CodingKey { case name, pid, slotCount, attachedAt, reattaches }

        public static let externalProducer = true
    }
}
