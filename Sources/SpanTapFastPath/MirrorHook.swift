import Atomics
import Glibc
import SpanTapRing

/// The mirror hook: called by the forwarding loop once per received frame, right after the
/// forwarding decision (frame placed on the peer's TX ring, or dropped), while the frame's bytes
/// are still in the UMEM and before the frame can be reused.
///
/// Per frame: if this binding's ingress is mirrored and the binding's own `Sampler` picks the
/// frame, copy it into the binding's ring (`stage`). Per RX batch: `batchEnded` publishes what
/// was staged, so the ring's shared index, fence and wake-up check cost once per batch, not per
/// frame. A full ring or an oversize frame drops only the clone (counted in the ring); nothing
/// here can delay forwarding.
///
/// The rule comes from the binding's own ring's rule table, read once per RX batch by the same C
/// reader external producers use (`RingProducer.refreshRules`), so spantapd has one rule
/// mechanism for its own bindings and for other processes.
///
/// Rules (the hot path):
/// - A concrete struct, one per binding, kept by the loop in a preallocated buffer and called as
///   `hooks[i].frameReceived(...)`: static dispatch, no existential, no protocol witness.
/// - Its only reference is a pointer: no ARC traffic, no allocation, no locks, no syscalls except
///   the ring's eventfd wake-up when the sink sleeps.
/// - `frame` is valid only during the call: the bytes are copied, the pointer never kept.
public struct MirrorHook {
    /// The binding this hook belongs to.
    public let context: MirrorHookContext
    @usableFromInline let producer: UnsafeMutablePointer<RingProducer>?
    @usableFromInline var sampler = Sampler()
    /// The rule in force, looked up once per change of the table, not per frame.
    @usableFromInline var rule: RingRule?
    @usableFromInline var rate = SampleRate.everyPacket
    @usableFromInline var timestamp: UInt64 = 0

    /// A hook that mirrors nothing (no ring).
    public init(context: MirrorHookContext) {
        self.context = context
        producer = nil
    }

    init(context: MirrorHookContext, producer: UnsafeMutablePointer<RingProducer>) {
        self.context = context
        self.producer = producer
    }

    /// Once per RX batch: pick up changed rules, and take the batch's timestamp if mirroring.
    @inlinable @inline(__always)
    public mutating func batchStarted() {
        guard let producer else { return }
        if producer.pointee.refreshRules() { adopt() }
        if rule != nil {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            timestamp = UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
        }
    }

    @inlinable @inline(__always)
    public mutating func frameReceived(_ frame: UnsafeRawBufferPointer) {
        guard let rule, sampler.shouldMirror(rate), let producer else { return }
        _ = producer.pointee.stage(frame, rule: rule, timestampNanoseconds: timestamp)
    }

    /// Once per RX batch, after its frames: make the staged clones visible to the sink.
    @inlinable @inline(__always)
    public mutating func batchEnded() {
        guard rule != nil, let producer else { return }
        producer.pointee.publish()
    }

    /// The table changed: find this binding's rule; a rule that changed restarts its 1-in-N count.
    @usableFromInline @inline(never)
    mutating func adopt() {
        let fresh = producer?.pointee.rule(for: context.ifindex, direction: .received)
        guard fresh != rule else { return }
        rule = fresh
        rate = SampleRate(fresh?.rate ?? 1)
        sampler = Sampler()
    }
}

/// Which binding a hook is made for (passed to the hook factory at start, not per packet).
public struct MirrorHookContext: Sendable, Equatable {
    public var crossConnect: String
    public var interface: String
    public var ifindex: UInt32
    public var queue: UInt32

    /// For callers that drive a hook without a running fast path (benchmarks, tests).
    public init(crossConnect: String, interface: String, ifindex: UInt32, queue: UInt32) {
        self.crossConnect = crossConnect
        self.interface = interface
        self.ifindex = ifindex
        self.queue = queue
    }
}
