/// `{"command":"capture","instances":["span1"]}`: a temporary capture output on the named
/// instances (every instance if the list is empty). The reply's `capture` says what the capture
/// selects and carries, by SCM_RIGHTS, one SOCK_SEQPACKET socket on which each selected frame
/// arrives as one message (`CaptureMessage` in SpanTapCapture). The capture lasts until the client
/// sends `capture-stop` on the same connection or goes away.
public struct CaptureRequest: Codable, Equatable, Sendable {
    public var instances: [String]

    public init(instances: [String] = []) { self.instances = instances }
}

/// One capture as spantapd reports it: in the `capture` reply (counts 0), in the `capture-stop`
/// reply (final counts, which a client's ISBs carry) and in status while it runs.
public struct CaptureReport: Codable, Equatable, Sendable {
    /// One source interface: a pcapng IDB.
    public struct Interface: Codable, Equatable, Sendable {
        public var name: String
        public var ifindex: UInt32
        /// The instances whose rules select frames of this interface.
        public var instances: [String]
        /// The largest `maximum-packet-length` of those rules; 0: whole frames.
        public var snapLength: UInt32
        /// Frames the sink selected for this capture on the interface, sent or dropped.
        public var frames: UInt64
        /// Of those, frames dropped because the client's queue was full.
        public var drops: UInt64
        /// Clones the interface's AF_XDP bindings dropped because their ring was full
        /// (`mirror_drops_queue_full`) since the capture began: lost before the sink, so before
        /// the capture too. They may include other instances' clones from the same bindings; an
        /// external producer's ring belongs to no interface and is not counted. nil from a
        /// spantapd that predates it.
        public var ringDrops: UInt64?

        public init(name: String, ifindex: UInt32, instances: [String], snapLength: UInt32, frames: UInt64 = 0, drops: UInt64 = 0) {
            self.name = name
            self.ifindex = ifindex
            self.instances = instances
            self.snapLength = snapLength
            self.frames = frames
            self.drops = drops
        }
    }

    public var id: Int
    /// The client's pid, from SO_PEERCRED.
    public var pid: Int32
    public var instances: [String]
    public var interfaces: [Interface]
    /// Bytes the client's socket queues before copies are dropped (its SO_SNDBUF).
    public var queueBytes: Int

    public var frames: UInt64 { interfaces.reduce(0) { $0 &+ $1.frames } }
    public var drops: UInt64 { interfaces.reduce(0) { $0 &+ $1.drops } }
    public var ringDrops: UInt64 { interfaces.reduce(0) { $0 &+ ($1.ringDrops ?? 0) } }

    public init(id: Int, pid: Int32, instances: [String], interfaces: [Interface], queueBytes: Int) {
        self.id = id
        self.pid = pid
        self.instances = instances
        self.interfaces = interfaces
        self.queueBytes = queueBytes
    }
}
