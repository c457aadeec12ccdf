/// One request on the control socket: a JSON object on one line, `{"command": "...", ...}`.
public enum ControlRequest: Equatable, Sendable {
    /// Counters and state of every instance, binding and external producer.
    case status
    /// Re-read the config file; a bad file is refused and the running config stays.
    case reload
    /// Replace the mirror table with the forwarder's snapshot.
    case apply(ForwarderSnapshot)
    /// An external forwarder asks for a ring: the reply carries its memfd and eventfd.
    case attachProducer(AttachProducer)
    /// An external forwarder is done with its ring (closing the connection does the same).
    case detachProducer(name: String)
    /// A `spantap capture` client asks for copies of its instances' frames (`CaptureRequest`).
    case capture(CaptureRequest)
    /// Ends this connection's capture; the reply has its final counts.
    case captureStop
}

/// The forwarder's own snapshot shape: `{"mirror_configs":[{"ingress_ifindex":7,"output_ifindex":9,"rate":10}]}`,
/// each entry optionally with `"filter":"tcp port 443"` (a tcpdump expression).
public struct ForwarderSnapshot: Codable, Equatable, Sendable {
    public struct MirrorConfig: Codable, Equatable, Sendable {
        public var ingressIfindex: Int32
        public var outputIfindex: Int32
        public var rate: UInt32
        public var filter: String?

        public init(ingressIfindex: Int32, outputIfindex: Int32, rate: UInt32, filter: String? = nil) {
            self.ingressIfindex = ingressIfindex
            self.outputIfindex = outputIfindex
            self.rate = rate
            self.filter = filter
        }
    }

    public var mirrorConfigs: [MirrorConfig]

    public init(mirrorConfigs: [MirrorConfig]) { self.mirrorConfigs = mirrorConfigs }
}

/// `{"command":"attach-producer","name":"xpf-0","abi":4,"reattaches":1,"slot_count":4096,"slot_size":2048}`;
/// `abi` is the ring ABI version the producer was built for (spantapd refuses any other),
/// `reattaches` how many times this producer attached before (to earlier spantapd runs, say; shown
/// in status), geometry fields are optional and default to the daemon's.
public struct AttachProducer: Codable, Equatable, Sendable {
    /// The ring ABI version this build speaks: `SPANTAP_RING_VERSION` (this module does not see the
    /// header; ExternalProducerTests fails if the two differ, since spantapd checks the header's).
    public static let currentABI = 4

    public var name: String
    public var abi: Int?
    public var slotCount: Int?
    public var slotSize: Int?
    public var reattaches: Int?

    public init(name: String, abi: Int? = AttachProducer.currentABI, slotCount: Int? = nil, slotSize: Int? = nil,
                reattaches: Int? = nil) {
        self.name = name
        self.abi = abi
        self.slotCount = slotCount
        self.slotSize = slotSize
        self.reattaches = reattaches
    }
}

extension ControlRequest: Codable {
    private enum CodingKeys: String, CodingKey { case command, snapshot, name, instances }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let command = try container.decode(String.self, forKey: .command)
        switch command {
        case "status": self = .status
        case "reload": self = .reload
        case "apply": self = .apply(try container.decode(ForwarderSnapshot.self, forKey: .snapshot))
        case "attach-producer":
            // Its fields sit beside `command` in the same object.
            self = .attachProducer(try AttachProducer(from: decoder))
        case "detach-producer": self = .detachProducer(name: try container.decode(String.self, forKey: .name))
        case "capture": self = .capture(CaptureRequest(instances: try container.decodeIfPresent([String].self, forKey: .instances) ?? []))
        case "capture-stop": self = .captureStop
        default:
            throw DecodingError.dataCorruptedError(forKey: .command, in: container, debugDescription:
                "unknown command '\(command)' (expected status, reload, apply, attach-producer, detach-producer, capture or capture-stop)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(command, forKey: .command)
        switch self {
        case .status, .reload, .captureStop: break
        case .apply(let snapshot):
            try container.encode(snapshot, forKey: .snapshot)
        case .attachProducer(let request):
            try request.encode(to: encoder)
        case .detachProducer(let name):
            try container.encode(name, forKey: .name)
        case .capture(let request):
            try container.encode(request.instances, forKey: .instances)
        }
    }

    /// The request's name on the wire.
    public var command: String {
        switch self {
        case .status: "status"
        case .reload: "reload"
        case .apply: "apply"
        case .attachProducer: "attach-producer"
        case .detachProducer: "detach-producer"
        case .capture: "capture"
        case .captureStop: "capture-stop"
        }
    }

    /// Reads state or copies frames and changes nothing: what a member of the monitoring group
    /// may ask for.
    public var onlyWatches: Bool {
        switch self {
        case .status, .capture, .captureStop: true
        case .reload, .apply, .attachProducer, .detachProducer: false
        }
    }
}
