/// `spantap status --json`: every counter the daemon keeps, with the forwarder's names.
public struct StatusReport: Codable, Equatable, Sendable {
    public var instances: [Instance] = []
    public var bindings: [Binding] = []
    public var producers: [Producer] = []

    public init(instances: [Instance] = [], bindings: [Binding] = [], producers: [Producer] = []) {
        self.instances = instances
        self.bindings = bindings
        self.producers = producers
    }

    /// Mirror counters, summed over every ring that feeds an instance.
    public struct MirrorCounters: Codable, Equatable, Sendable {
        public var mirroredPackets: UInt64 = 0
        public var mirroredBytes: UInt64 = 0
        public var mirrorDropsQueueFull: UInt64 = 0
        public var mirrorDropsNoFrame: UInt64 = 0
        public var mirrorDropsNoBinding: UInt64 = 0

        public init() {}
    }

    public struct Output: Codable, Equatable, Sendable {
        public var interface: String
        public var ifindex: Int32
        /// "tap" (created or re-attached by spantapd), "port" (an existing interface), "missing".
        public var kind: String

        public init(interface: String, ifindex: Int32, kind: String) {
            self.interface = interface
            self.ifindex = ifindex
            self.kind = kind
        }
    }

    public struct Instance: Codable, Equatable, Sendable {
        public var name: String
        public var rate: UInt32
        public var ingress: [String]
        public var output: Output
        public var mirroredPackets: UInt64
        public var mirroredBytes: UInt64
        public var mirrorDropsQueueFull: UInt64
        public var mirrorDropsNoFrame: UInt64
        public var mirrorDropsNoBinding: UInt64
        public var deliveredPackets: UInt64
        public var deliveredBytes: UInt64
        public var writeErrors: UInt64
        public var recreated: UInt64

        public init(name: String, rate: UInt32, ingress: [String], output: Output, mirror: MirrorCounters,
                    deliveredPackets: UInt64, deliveredBytes: UInt64, writeErrors: UInt64, recreated: UInt64) {
            self.name = name
            self.rate = rate
            self.ingress = ingress
            self.output = output
            mirroredPackets = mirror.mirroredPackets
            mirroredBytes = mirror.mirroredBytes
            mirrorDropsQueueFull = mirror.mirrorDropsQueueFull
            mirrorDropsNoFrame = mirror.mirrorDropsNoFrame
            mirrorDropsNoBinding = mirror.mirrorDropsNoBinding
            self.deliveredPackets = deliveredPackets
            self.deliveredBytes = deliveredBytes
            self.writeErrors = writeErrors
            self.recreated = recreated
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

        public init(interface: String, queue: UInt32, mode: String, rxPackets: UInt64, txPackets: UInt64, txDrops: UInt64,
                    mirroredPackets: UInt64, mirrorDropsQueueFull: UInt64, mirrorDropsNoFrame: UInt64) {
            self.interface = interface
            self.queue = queue
            self.mode = mode
            self.rxPackets = rxPackets
            self.txPackets = txPackets
            self.txDrops = txDrops
            self.mirroredPackets = mirroredPackets
            self.mirrorDropsQueueFull = mirrorDropsQueueFull
            self.mirrorDropsNoFrame = mirrorDropsNoFrame
        }
    }

    /// An external forwarder attached over the control socket.
    public struct Producer: Codable, Equatable, Sendable {
        public var name: String
        public var pid: Int32
        public var slotCount: Int
        public var mirroredPackets: UInt64
        public var mirrorDropsQueueFull: UInt64
        public var mirrorDropsNoFrame: UInt64
        public var mirrorDropsNoBinding: UInt64

        public init(name: String, pid: Int32, slotCount: Int, mirroredPackets: UInt64, mirrorDropsQueueFull: UInt64,
                    mirrorDropsNoFrame: UInt64, mirrorDropsNoBinding: UInt64) {
            self.name = name
            self.pid = pid
            self.slotCount = slotCount
            self.mirroredPackets = mirroredPackets
            self.mirrorDropsQueueFull = mirrorDropsQueueFull
            self.mirrorDropsNoFrame = mirrorDropsNoFrame
            self.mirrorDropsNoBinding = mirrorDropsNoBinding
        }
    }
}
