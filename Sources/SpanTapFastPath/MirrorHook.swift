import Atomics
import SpanTapRing

/// The mirror hook: called by the forwarding loop once per received frame, right after the
/// forwarding decision (frame placed on the peer's TX ring, or dropped), while the frame's bytes
/// are still in the UMEM and before the frame can be reused.
///
/// Per frame: if this binding's interface is mirrored on ingress (received), or its peer on
/// egress (transmitted, for frames actually forwarded), that rule's filter (if it has one)
/// accepts the frame, and the rule's own 1-in-N count (with
/// run-length) picks the frame within its max-packets-per-second budget (refilled once per batch
/// from the batch's timestamp, no division), copy it into the binding's ring (`stage`). A port mirrored by VLAN
/// unit has its frame's outer tag read to find the unit's rule; other ports never look at the
/// tag. With mirror-once, an egress copy for the output the ingress copy already went to is not
/// made, only counted. Per RX batch: `batchEnded` publishes what was staged, so the ring's shared
/// index, fence and wake-up check cost once per batch, not per frame. A full ring or an oversize
/// frame drops only the clone (counted in the ring); nothing here can delay forwarding.
///
/// The rules come from the binding's own ring's rule table, read once per RX batch by the same C
/// reader external producers use (`RingProducer.refreshRules`), and samples are counted by the
/// same C code, so spantapd has one rule mechanism for its own bindings and for other processes.
///
/// Rules (the hot path):
/// - A concrete struct, one per binding, kept by the loop in a preallocated buffer and called as
///   `hooks[i].frameReceived(...)`: static dispatch, no existential, no protocol witness.
/// - Its only reference is a pointer: no ARC traffic, no allocation, no locks, no syscalls except
///   the ring's eventfd wake-up when the sink sleeps.
/// - An interface that is not mirrored costs the loop one register test per frame: `batchStarted`
///   says so once per batch and the loop does not call `frameReceived`. A skipped frame of a
///   mirrored port is one load, compare and store (`RingProducer.skips`).
/// - `frame` is valid only during the call: the bytes are copied, the pointer never kept.
public struct MirrorHook {
    /// The binding this hook belongs to.
    public let context: MirrorHookContext
    @usableFromInline let producer: UnsafeMutablePointer<RingProducer>?
    /// This binding's rules as indices into the producer's copy of the table (-1: none), found
    /// once per change of the table, not per frame.
    @usableFromInline var ingressRule: Int32 = -1
    @usableFromInline var egressRule: Int32 = -1
    @usableFromInline var ingressByUnit = false
    @usableFromInline var egressByUnit = false
    @usableFromInline var mirrorOnce = false
    /// The common case, decided once per table change: one whole-port ingress rule without a
    /// filter and nothing on egress, so a frame costs that rule's sample and nothing else.
    @usableFromInline var ingressPortOnly = false
    /// That rule's sampling state, so a skipped frame is one load, compare and store.
    @usableFromInline var ingressState: UnsafeMutablePointer<UInt64>?
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
    /// Returns whether this binding mirrors anything (else its frames need not be shown to the hook).
    @inlinable @inline(__always)
    public mutating func batchStarted() -> Bool {
        guard let producer else { return false }
        if producer.pointee.refreshRules() { adopt() }
        guard ingressRule >= 0 || egressRule >= 0 else { return false }
        timestamp = RecordClock.now()
        producer.pointee.tick(nanoseconds: timestamp)
        return true
    }

    /// One received frame; `forwarded`: it went onto the peer's TX ring (only those are egress).
    @inlinable @inline(__always)
    public mutating func frameReceived(_ frame: UnsafeRawBufferPointer, forwarded: Bool) {
        if ingressPortOnly {
            if RingProducer.skips(ingressState.unsafelyUnwrapped) { return }
            let producer = producer.unsafelyUnwrapped
            if producer.pointee.sample(ingressRule) {
                _ = producer.pointee.stage(frame, ruleAt: ingressRule, timestampNanoseconds: timestamp)
            }
            return
        }
        mirrorSelected(frame, forwarded: forwarded)
    }

    /// Every other case: units, filters, egress, mirror-once. A filter runs before the sample, so
    /// a frame it rejects does not advance the rule's 1-in-N count. Out of line: inlined, its
    /// body cost the common case above an instruction per frame in register pressure (bench row 2).
    @inlinable @inline(never)
    mutating func mirrorSelected(_ frame: UnsafeRawBufferPointer, forwarded: Bool) {
        var ingressOutput = UInt32.max
        if ingressRule >= 0 {
            let producer = producer.unsafelyUnwrapped
            var rule = ingressByUnit ? producer.pointee.findUnitRule(from: ingressRule, frame: frame) : ingressRule
            if rule >= 0 { rule = producer.pointee.selectRule(rule, frame: frame) }
            // Mirror-once suppresses the egress copy only if the ingress copy really went to the
            // output (staged), as spantap_ring.h says: a dropped ingress clone suppresses nothing.
            if rule >= 0 && producer.pointee.sample(rule),
               producer.pointee.stage(frame, ruleAt: rule, timestampNanoseconds: timestamp) == .enqueued {
                ingressOutput = producer.pointee.outputID(ofRule: rule)
            }
        }
        if egressRule >= 0 && forwarded {
            let producer = producer.unsafelyUnwrapped
            var rule = egressByUnit ? producer.pointee.findUnitRule(from: egressRule, frame: frame) : egressRule
            if rule >= 0 { rule = producer.pointee.selectRule(rule, frame: frame) }
            if rule >= 0 && producer.pointee.sample(rule) {
                if mirrorOnce && producer.pointee.outputID(ofRule: rule) == ingressOutput {
                    producer.pointee.countSuppressed()
                } else {
                    _ = producer.pointee.stage(frame, ruleAt: rule, timestampNanoseconds: timestamp)
                }
            }
        }
    }

    /// Once per RX batch, after its frames: make the staged clones visible to the sink.
    @inlinable @inline(__always)
    public mutating func batchEnded() {
        guard let producer else { return }
        producer.pointee.publish()
    }

    /// The table changed: find this binding's rules (their counts restart only if they changed).
    @usableFromInline @inline(never)
    mutating func adopt() {
        guard let producer else { return }
        ingressRule = producer.pointee.findRule(ifindex: context.ifindex, direction: .received)
        ingressByUnit = ingressRule >= 0 && producer.pointee.isUnitRule(ingressRule)
        egressRule = context.peerIfindex == 0 ? -1 : producer.pointee.findRule(ifindex: context.peerIfindex, direction: .transmitted)
        egressByUnit = egressRule >= 0 && producer.pointee.isUnitRule(egressRule)
        mirrorOnce = producer.pointee.mirrorOnce
        ingressPortOnly = ingressRule >= 0 && !ingressByUnit && !producer.pointee.isFiltered(ingressRule) && egressRule < 0
        ingressState = ingressPortOnly ? producer.pointee.samplingState(ofRule: ingressRule) : nil
    }
}

/// Which binding a hook is made for (passed to the hook factory at start, not per packet).
public struct MirrorHookContext: Sendable, Equatable {
    public var crossConnect: String
    public var interface: String
    public var ifindex: UInt32
    public var queue: UInt32
    /// The interface this binding's frames are forwarded to (their egress); 0 if none.
    public var peerIfindex: UInt32

    /// For callers that drive a hook without a running fast path (benchmarks, tests).
    public init(crossConnect: String, interface: String, ifindex: UInt32, queue: UInt32, peerIfindex: UInt32 = 0) {
        self.crossConnect = crossConnect
        self.interface = interface
        self.ifindex = ifindex
        self.queue = queue
        self.peerIfindex = peerIfindex
    }
}
