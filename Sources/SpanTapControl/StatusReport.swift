/// `spantap status --json`: every counter the daemon keeps, with the forwarder's names.
public struct StatusReport: Codable, Equatable, Sendable {
    public var daemon = Daemon()
    public var instances: [Instance] = []
    public var bindings: [Binding] = []
    public var producers: [Producer] = []
    /// `spantap capture` clients attached now (absent from daemons before captures existed).
    public var captures: [CaptureReport]?

    public init(daemon: Daemon = Daemon(), instances: [Instance] = [], bindings: [Binding] = [], producers: [Producer] = []) {
        self.daemon = daemon
        self.instances = instances
        self.bindings = bindings
        self.producers = producers
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
        public var detachedProducers = ProducerCounters()

        public init() {}
    }

    /// One external producer's counters.
    public struct ProducerCounters: Codable, Equatable, Sendable {
        public var mirroredPackets: UInt64 = 0
        public var mirrorDropsQueueFull: UInt64 = 0
        public var mirrorDropsNoFrame: UInt64 = 0
        public var mirrorDropsNoBinding: UInt64 = 0
        /// Records for an output or from an ingress outside the producer's grant, not delivered.
        public var mirrorDropsNotGranted: UInt64 = 0
        /// Records whose lengths did not fit their slot, not delivered.
        public var mirrorDropsBadRecord: UInt64 = 0
        /// Clones the producer did not make: over a rule's max-packets-per-second.
        public var mirrorDropsRateLimited: UInt64 = 0
        /// Frames a rule's filter rejected in the producer (never clones, so not drops).
        public var filterRejected: UInt64 = 0
        /// Rules the producer says it left out: their filter program was missing or invalid.
        public var rulesDisabled: UInt64 = 0
        /// Wake-ups (eventfd writes) that found the ring empty.
        public var spuriousWakeups: UInt64 = 0

        public init() {}

        public static func += (total: inout ProducerCounters, more: ProducerCounters) {
            total.mirroredPackets &+= more.mirroredPackets
            total.mirrorDropsQueueFull &+= more.mirrorDropsQueueFull
            total.mirrorDropsNoFrame &+= more.mirrorDropsNoFrame
            total.mirrorDropsNoBinding &+= more.mirrorDropsNoBinding
            total.mirrorDropsNotGranted &+= more.mirrorDropsNotGranted
            total.mirrorDropsBadRecord &+= more.mirrorDropsBadRecord
            total.mirrorDropsRateLimited &+= more.mirrorDropsRateLimited
            total.filterRejected &+= more.filterRejected
            total.rulesDisabled &+= more.rulesDisabled
            total.spuriousWakeups &+= more.spuriousWakeups
        }
    }

    /// Mirror counters, summed over every ring that feeds an instance.
    public struct MirrorCounters: Codable, Equatable, Sendable {
        public var mirroredPackets: UInt64 = 0
        public var mirroredBytes: UInt64 = 0
        public var mirrorDropsQueueFull: UInt64 = 0
        public var mirrorDropsNoFrame: UInt64 = 0
        public var mirrorDropsNoBinding: UInt64 = 0
        public var mirrorOnceSuppressed: UInt64 = 0
        public var mirrorDropsRateLimited: UInt64 = 0
        public var filterRejected: UInt64 = 0

        public init() {}
    }

    public struct Output: Codable, Equatable, Sendable {
        public var interface: String
        public var ifindex: Int32
        /// "tap" (created or re-attached by spantapd), "port" (an existing interface), "vxlan" (a
        /// VXLAN device spantapd created), "missing".
        public var kind: String
        /// A vxlan output's tunnel, as configured.
        public var remote: String?
        public var local: String?
        public var vni: UInt32?
        public var dstport: UInt16?
        /// Why frames were not sent, for outputs that can tell more than `write_errors`.
        public var writeErrorReasons: WriteErrorReasons?
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

    public struct Instance: Codable, Equatable, Sendable {
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
        public var output: Output
        public var mirroredPackets: UInt64
        public var mirroredBytes: UInt64
        public var mirrorDropsQueueFull: UInt64
        public var mirrorDropsNoFrame: UInt64
        public var mirrorDropsNoBinding: UInt64
        /// Egress copies not made because the ingress copy went to the same output (mirror-once).
        public var mirrorOnceSuppressed: UInt64
        /// Clones over max-packets-per-second, not made.
        public var mirrorDropsRateLimited: UInt64
        /// Frames of the instance's selections its filter rejected, before sampling.
        public var filterRejected: UInt64
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
            mirroredPackets = mirror.mirroredPackets
            mirroredBytes = mirror.mirroredBytes
            mirrorDropsQueueFull = mirror.mirrorDropsQueueFull
            mirrorDropsNoFrame = mirror.mirrorDropsNoFrame
            mirrorDropsNoBinding = mirror.mirrorDropsNoBinding
            mirrorOnceSuppressed = mirror.mirrorOnceSuppressed
            mirrorDropsRateLimited = mirror.mirrorDropsRateLimited
            filterRejected = mirror.filterRejected
            self.deliveredPackets = deliveredPackets
            self.deliveredBytes = deliveredBytes
            self.writeErrors = writeErrors
            self.recreated = recreated
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
    public struct Binding: Codable, Equatable, Sendable {
        public var interface: String
        public var queue: UInt32
        public var mode: String
        public var rxPackets: UInt64
        public var txPackets: UInt64
        public var txDrops: UInt64
        public var mirroredPackets: UInt64
        public var mirrorDropsQueueFull: UInt64
        public var mirrorDropsNoFrame: UInt64
        public var mirrorOnceSuppressed: UInt64
        public var mirrorDropsRateLimited: UInt64
        public var filterRejected: UInt64
        /// The kernel's XDP_STATISTICS for the socket: frames dropped before the forwarder's RX
        /// ring (`rx_ring_full`, `rx_dropped`), fill ring found empty, invalid descriptors.
        public var kernel = KernelDrops()

        /// `struct xdp_statistics`, with the kernel's names.
        public struct KernelDrops: Codable, Equatable, Sendable {
            public var rxDropped: UInt64 = 0
            public var rxInvalidDescs: UInt64 = 0
            public var txInvalidDescs: UInt64 = 0
            public var rxRingFull: UInt64 = 0
            public var rxFillRingEmptyDescs: UInt64 = 0
            public var txRingEmptyDescs: UInt64 = 0

            public init() {}
        }

        public init(interface: String, queue: UInt32, mode: String, rxPackets: UInt64, txPackets: UInt64, txDrops: UInt64,
                    mirroredPackets: UInt64, mirrorDropsQueueFull: UInt64, mirrorDropsNoFrame: UInt64,
                    mirrorOnceSuppressed: UInt64 = 0, mirrorDropsRateLimited: UInt64 = 0, filterRejected: UInt64 = 0) {
            self.interface = interface
            self.queue = queue
            self.mode = mode
            self.rxPackets = rxPackets
            self.txPackets = txPackets
            self.txDrops = txDrops
            self.mirroredPackets = mirroredPackets
            self.mirrorDropsQueueFull = mirrorDropsQueueFull
            self.mirrorDropsNoFrame = mirrorDropsNoFrame
            self.mirrorOnceSuppressed = mirrorOnceSuppressed
            self.mirrorDropsRateLimited = mirrorDropsRateLimited
            self.filterRejected = filterRejected
        }
    }

    /// An external forwarder attached over the control socket.
    @dynamicMemberLookup
    public struct Producer: Codable, Equatable, Sendable {
        public var name: String
        public var pid: Int32
        public var slotCount: Int
        /// When it attached to this spantapd (RFC 3339, UTC).
        public var attachedAt: String
        /// How many times it attached before, as it said in its attach request (a session counts
        /// its own attaches, across spantapd restarts).
        public var reattaches: Int
        /// In JSON beside the other fields.
        public var counters: ProducerCounters

        public init(name: String, pid: Int32, slotCount: Int, attachedAt: String = "", reattaches: Int = 0, counters: ProducerCounters) {
            self.name = name
            self.pid = pid
            self.slotCount = slotCount
            self.attachedAt = attachedAt
            self.reattaches = reattaches
            self.counters = counters
        }

        /// `producer.mirroredPackets` and the other counters, read through `counters`.
        public subscript<Value>(dynamicMember counter: KeyPath<ProducerCounters, Value>) -> Value { counters[keyPath: counter] }

        private enum CodingKeys: String, CodingKey { case name, pid, slotCount, attachedAt, reattaches }

        public init(from decoder: any Decoder) throws {
            let fields = try decoder.container(keyedBy: CodingKeys.self)
            self.init(name: try fields.decode(String.self, forKey: .name), pid: try fields.decode(Int32.self, forKey: .pid),
                      slotCount: try fields.decode(Int.self, forKey: .slotCount),
                      attachedAt: try fields.decode(String.self, forKey: .attachedAt),
                      reattaches: try fields.decode(Int.self, forKey: .reattaches), counters: try ProducerCounters(from: decoder))
        }

        public func encode(to encoder: any Encoder) throws {
            var fields = encoder.container(keyedBy: CodingKeys.self)
            try fields.encode(name, forKey: .name)
            try fields.encode(pid, forKey: .pid)
            try fields.encode(slotCount, forKey: .slotCount)
            try fields.encode(attachedAt, forKey: .attachedAt)
            try fields.encode(reattaches, forKey: .reattaches)
            try counters.encode(to: encoder)
        }
    }
}
