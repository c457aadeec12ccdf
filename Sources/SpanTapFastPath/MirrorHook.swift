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
/// Rules (the hot path):
/// - A concrete struct, one per binding, kept by the loop in a preallocated buffer and called as
///   `hooks[i].frameReceived(...)`: static dispatch, no existential, no protocol witness.
/// - Its references are an atomic word and a pointer: no ARC traffic, no allocation, no locks,
///   no syscalls except the ring's eventfd wake-up when the sink sleeps.
/// - `frame` is valid only during the call: the bytes are copied, the pointer never kept.
public struct MirrorHook {
    /// The binding this hook belongs to.
    public let context: MirrorHookContext
    @usableFromInline let rule: UnsafeAtomic<UInt64>?
    @usableFromInline let producer: UnsafeMutablePointer<RingProducer>?
    @usableFromInline var sampler = Sampler()
    /// The rule as last loaded (its packed word), decoded once per change, not per frame.
    @usableFromInline var word: UInt64 = 0
    @usableFromInline var mirrored = false
    @usableFromInline var outputID: UInt32 = 0
    @usableFromInline var rate = SampleRate.everyPacket
    @usableFromInline var snapLength = 0
    @usableFromInline var timestamp: UInt64 = 0

    /// A hook that mirrors nothing (no mirror table).
    public init(context: MirrorHookContext) {
        self.context = context
        rule = nil
        producer = nil
    }

    init(context: MirrorHookContext, rule: UnsafeAtomic<UInt64>, producer: UnsafeMutablePointer<RingProducer>) {
        self.context = context
        self.rule = rule
        self.producer = producer
    }

    /// Once per RX batch: pick up a changed rule, and take the batch's timestamp if mirroring.
    @inlinable @inline(__always)
    public mutating func batchStarted() {
        guard let rule else { return }
        let current = rule.load(ordering: .acquiring)
        if current != word { adopt(current) }
        if mirrored {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            timestamp = UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
        }
    }

    @inlinable @inline(__always)
    public mutating func frameReceived(_ frame: UnsafeRawBufferPointer, ingressIfindex: UInt32) {
        guard mirrored, sampler.shouldMirror(rate), let producer else { return }
        _ = producer.pointee.stage(frame, ingressIfindex: ingressIfindex, outputID: outputID,
                                   timestampNanoseconds: timestamp, snapLength: snapLength)
    }

    /// Once per RX batch, after its frames: make the staged clones visible to the sink.
    @inlinable @inline(__always)
    public mutating func batchEnded() {
        guard mirrored, let producer else { return }
        producer.pointee.publish()
    }

    @usableFromInline @inline(never)
    mutating func adopt(_ packed: UInt64) {
        word = packed
        guard let rule = MirrorRule(packed: packed) else {
            mirrored = false
            return
        }
        mirrored = true
        outputID = rule.outputID
        rate = SampleRate(rule.rate)
        snapLength = Int(rule.snapLength)
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
