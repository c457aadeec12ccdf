import SpanTapRing

/// The answer to one request, one JSON line: `{"ok":true,...}` or `{"ok":false,"error":"..."}`.
public struct ControlResponse: Codable, Equatable, Sendable {
    public var ok: Bool
    public var error: String?
    /// A human-readable note (e.g. what a reload changed, or unknown ifindexes in an apply).
    public var message: String?
    public var status: StatusReport?
    public var producer: ProducerGrant?
    /// The `capture` reply (its socket comes with it) and the `capture-stop` reply (final counts).
    public var capture: CaptureReport?

    public init(ok: Bool = true, error: String? = nil, message: String? = nil,
                status: StatusReport? = nil, producer: ProducerGrant? = nil, capture: CaptureReport? = nil) {
        self.ok = ok
        self.error = error
        self.message = message
        self.status = status
        self.producer = producer
        self.capture = capture
    }

    public static func failure(_ error: String) -> ControlResponse { ControlResponse(ok: false, error: error) }
}

/// What an external producer needs besides the two descriptors that come with the reply
/// (SCM_RIGHTS, in this order: the ring's memfd, then its eventfd). Lists, not JSON objects keyed
/// by interface name, so no key transformation can touch a name.
public struct ProducerGrant: Codable, Equatable, Sendable {
    /// One mirrored ingress interface: records for frames from it carry `outputId`, the producer
    /// samples them at `rate` with its own counter and captures at most `maximumPacketLength`
    /// bytes of each (0: whole frames; `spantap_producer_enqueue_snap` in the C header).
    public struct Rule: Codable, Equatable, Sendable {
        /// The selected interface (for egress rules too: the name is kept from ABI 1) and its ifindex.
        public var ingress: String
        public var ingressIfindex: Int32
        /// "received" or "transmitted".
        public var direction: String
        /// 0: the whole port; else only frames of this VLAN unit.
        public var vlanId: UInt16
        public var rate: UInt32
        public var runLength: UInt16
        public var maximumPacketLength: UInt32
        /// 0: no limit.
        public var maxPacketsPerSecond: UInt32
        public var output: String
        public var outputId: UInt32

        /// The rule as the ring's table carries it, with the names spantapd knows it by.
        public init(_ rule: RingRule, ingress: String, output: String) {
            self.ingress = ingress
            self.output = output
            ingressIfindex = Int32(bitPattern: rule.ifindex)
            direction = rule.direction.description
            vlanId = rule.vlanID
            rate = rule.rate
            runLength = rule.runLength
            maximumPacketLength = rule.snapLength
            maxPacketsPerSecond = rule.maxPacketsPerSecond
            outputId = rule.outputID
        }
    }

    public var name: String
    public var slotCount: Int
    public var slotSize: Int
    public var snapLength: Int
    public var mappingSize: Int
    public var rules: [Rule]

    public init(name: String, geometry: RingGeometry, rules: [Rule]) {
        self.name = name
        self.rules = rules
        slotCount = geometry.slotCount
        slotSize = geometry.slotSize
        snapLength = geometry.snapLength
        mappingSize = geometry.mappingSize
    }
}
