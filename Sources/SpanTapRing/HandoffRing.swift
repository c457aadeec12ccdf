import Atomics
import CSpanTapRing
import SpanTapSystem
import Synchronization
import SystemPackage

/// A single-producer single-consumer ring of sampled frames in shared memory.
///
/// The ring lives in a sealed memfd, so spantapd can pass it (with its wake-up eventfd) to another
/// process, whose producer may be written in any language against `spantap_ring.h`. One side
/// calls `makeProducer()`, the other `makeConsumer()`; each may be taken once per mapping. The
/// creator also owns the ring's rule table and rewrites it with `publishRules`.
///
/// Memory is bounded by construction: `geometry.mappingSize` bytes, allocated once.
public final class HandoffRing: Sendable {
    public let geometry: RingGeometry
    /// The memfd holding header and slots; hand it out to attach an external producer.
    public let memory: FileDescriptor
    /// The eventfd the consumer sleeps on; the producer writes it only when `need_wakeup` is set.
    public let wakeup: FileDescriptor

    private let mapping: MappedRegion
    var base: UnsafeMutableRawPointer { mapping.base }
    let layout: RingLayout
    private let rules: Mutex<RuleTableWriter>
    private let producerTaken = ManagedAtomic(false)
    private let consumerTaken = ManagedAtomic(false)

    /// Creates a ring in a new memfd named `name` (visible in /proc/PID/fd as `memfd:NAME`).
    public static func create(name: String, geometry: RingGeometry) throws(RingError) -> HandoffRing {
        let memfd = try system("memfd_create \(name)") { () throws(Errno) in try FileDescriptor.memoryFile(name: name) }
        var created = false
        defer { if !created { try? memfd.close() } }
        // The seals stop a process we hand the memfd to from shrinking it under our mapping (SIGBUS).
        try system("size ring memfd to \(geometry.mappingSize) B") { () throws(Errno) in
            try memfd.setByteCount(geometry.mappingSize)
        }
        try system("seal ring memfd") { () throws(Errno) in try memfd.sealSize() }
        let mapping = try map(memfd, size: geometry.mappingSize)
        let wakeup = try system("eventfd") { () throws(Errno) in try FileDescriptor.eventFD() }
        let header = mapping.base.assumingMemoryBound(to: spantap_ring_header.self)
        header.pointee.magic = SPANTAP_RING_MAGIC
        header.pointee.version = SPANTAP_RING_VERSION
        header.pointee.header_size = SPANTAP_RING_HEADER_SIZE
        header.pointee.slot_count = UInt32(geometry.slotCount)
        header.pointee.slot_size = UInt32(geometry.slotSize)
        header.pointee.snap_length = UInt32(geometry.snapLength)
        header.pointee.rule_capacity = SPANTAP_RULE_CAPACITY
        created = true
        return HandoffRing(geometry: geometry, memory: memfd, wakeup: wakeup, mapping: mapping)
    }

    /// Maps a ring another process created. Takes ownership of both descriptors on success; on
    /// failure they stay the caller's.
    public static func attach(memory: FileDescriptor, wakeup: FileDescriptor) throws(RingError) -> HandoffRing {
        let size = try system("fstat ring memfd") { () throws(Errno) in try memory.byteCount() }
        guard size >= Int(SPANTAP_RING_HEADER_SIZE) else { throw .notARing("memfd is only \(size) B") }
        let mapping = try map(memory, size: size)
        let header = mapping.base.assumingMemoryBound(to: spantap_ring_header.self).pointee
        guard header.magic == SPANTAP_RING_MAGIC else { throw .notARing("bad magic") }
        guard header.version == SPANTAP_RING_VERSION, header.header_size == SPANTAP_RING_HEADER_SIZE,
              header.rule_capacity == SPANTAP_RULE_CAPACITY else {
            throw .notARing("version \(header.version) with header size \(header.header_size); this build reads version \(SPANTAP_RING_VERSION)")
        }
        let geometry = try RingGeometry(slotCount: Int(header.slot_count), slotSize: Int(header.slot_size),
                                        snapLength: Int(header.snap_length))
        guard geometry.mappingSize <= size else {
            throw .notARing("geometry \(geometry) needs \(geometry.mappingSize) B, memfd has \(size) B")
        }
        return HandoffRing(geometry: geometry, memory: memory, wakeup: wakeup, mapping: mapping)
    }

    private init(geometry: RingGeometry, memory: FileDescriptor, wakeup: FileDescriptor, mapping: consuming MappedRegion) {
        self.geometry = geometry
        self.memory = memory
        self.wakeup = wakeup
        self.layout = RingLayout(base: mapping.base)
        rules = Mutex(RuleTableWriter(base: mapping.base))
        self.mapping = mapping
    }

    deinit {
        try? memory.close()
        try? wakeup.close()
    }

    /// The ring's single producer. Traps if one was already made: two producers would corrupt it.
    public func makeProducer() -> RingProducer {
        precondition(!producerTaken.exchange(true, ordering: .relaxed), "a HandoffRing has exactly one producer")
        return RingProducer(ring: self)
    }

    /// The ring's single consumer. Traps if one was already made.
    public func makeConsumer() -> RingConsumer {
        precondition(!consumerTaken.exchange(true, ordering: .relaxed), "a HandoffRing has exactly one consumer")
        return RingConsumer(ring: self)
    }

    /// Most rules one ring's table holds.
    public static let ruleCapacity = Int(SPANTAP_RULE_CAPACITY)
    /// Most distinct filter programs one ring's program table holds.
    public static let programCapacity = Int(SPANTAP_PROGRAM_CAPACITY)

    /// Replaces the rules the producer follows (the seqlock writer of `spantap_ring.h`); the
    /// producer sees them at its next batch. One rule per (ifindex, direction, vlanID), or several
    /// that all carry filters no frame passes two of (tried in order), no whole-port rule beside unit rules of the same interface and direction, at most
    /// `ruleCapacity` of them. `mirrorOnce`: a frame selected on ingress and egress for one output
    /// is sent there once.
    public func publishRules(_ newRules: [RingRule], mirrorOnce: Bool = false) {
        rules.withLock { $0.write(newRules, mirrorOnce: mirrorOnce) }
    }

    /// Retires the ring (spantap_ring.h, "Retirement"): its producer stops staging at its next
    /// batch and attaches again. Call before draining a ring for the last time; the rules can no
    /// longer change afterwards.
    public func retire() {
        rules.withLock { $0.retire() }
    }

    /// Current counters (the ones the ring keeps; the sink's checks of an external producer's
    /// records are counted elsewhere); never blocks or disturbs the producer.
    public var counters: MirrorCounters {
        var counters = MirrorCounters()
        for field in MirrorCounters.fields {
            guard let ring = field.ring else { continue }
            counters[keyPath: field.keyPath] = layout.counter(ring).load(ordering: .relaxed)
        }
        return counters
    }

    /// Records enqueued but not yet taken by the consumer.
    public var queued: UInt64 {
        let consumed = layout.consumerIndex.load(ordering: .relaxed)
        return layout.producerIndex.load(ordering: .relaxed) &- consumed
    }

    private static func map(_ file: FileDescriptor, size: Int) throws(RingError) -> MappedRegion {
        try system("mmap ring (\(size) B)") { () throws(Errno) in try MappedRegion(sharing: file, byteCount: size) }
    }

    /// Runs one system call step, naming it in the error.
    private static func system<T: ~Copyable>(_ operation: @autoclosure () -> String,
                                             _ call: () throws(Errno) -> T) throws(RingError) -> T {
        do { return try call() } catch { throw .system(operation: operation(), errno: error) }
    }
}
