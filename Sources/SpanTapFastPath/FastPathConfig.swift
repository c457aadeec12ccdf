/// One `cross-connect NAME { interface A; interface B; }` of the `dataplane` stanza.
public struct CrossConnectConfig: Sendable, Hashable {
    public var name: String
    /// The two interfaces forwarded to each other (side A, side B).
    public var interfaceA, interfaceB: String

    public init(name: String, interfaceA: String, interfaceB: String) {
        (self.name, self.interfaceA, self.interfaceB) = (name, interfaceA, interfaceB)
    }
}

/// The `dataplane` stanza: which interfaces to cross-connect and how to attach XDP.
public struct FastPathConfig: Sendable {
    public var crossConnects: [CrossConnectConfig]
    public var mode: XDPMode
    /// Descriptors per ring (RX, TX, fill, completion); a power of two. The UMEM gets
    /// 2 × ringSize frames of 4 KiB per socket.
    public var ringSize: UInt32
    /// Try `XDP_ZEROCOPY` before `XDP_COPY` in native mode.
    public var preferZeroCopy: Bool
    /// Where the forwarding threads run (`dataplane { cpus }`); the class is always normal.
    public var placement: ThreadPlacement

    public init(crossConnects: [CrossConnectConfig], mode: XDPMode = .auto,
                ringSize: UInt32 = 2048, preferZeroCopy: Bool = true, placement: ThreadPlacement = ThreadPlacement()) {
        self.crossConnects = crossConnects
        self.mode = mode
        self.ringSize = ringSize
        self.preferZeroCopy = preferZeroCopy
        self.placement = placement
    }

    /// Every interface at most once across all cross-connects (and not twice in one).
    func validate() throws {
        var users: [String: [String]] = [:]
        for cc in crossConnects {
            users[cc.interfaceA, default: []].append(cc.name)
            users[cc.interfaceB, default: []].append(cc.name)
        }
        if let (interface, names) = users.sorted(by: { $0.key < $1.key }).first(where: { $0.value.count > 1 }) {
            throw FastPathError.interfaceReused(interface: interface, crossConnects: names)
        }
        precondition(ringSize > 0 && ringSize & (ringSize - 1) == 0, "ringSize must be a power of two")
    }
}
