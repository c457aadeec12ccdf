/// The mirror hook: called by the forwarding loop once per received frame, right after the
/// forwarding decision (frame placed on the peer's TX ring, or dropped), while the frame's bytes
/// are still in the UMEM and before the frame can be reused.
///
/// Placeholder. The mirroring engineer replaces the body (and adds stored properties) with:
///   1. look up `ingressIfindex` in the mirror table snapshot (immutable, swapped atomically),
///   2. ask this binding's `Sampler` (per binding, no shared atomic),
///   3. `RingProducer.tryEnqueue(frame:ingressIfindex:outputID:timestampNanoseconds:)` into this
///      binding's HandoffRing; any failure drops only the clone and counts the reason.
///
/// Shape and rules (keep them when filling it in):
/// - A concrete struct, one per binding, stored by the loop in a preallocated buffer and called
///   as `hooks[i].frameReceived(...)`: static dispatch, no existential, no protocol witness.
/// - `mutating` so per-binding state (sampler count, cached ring indices) lives inline.
/// - No allocation, no locks, no syscalls except the ring's eventfd wake-up when the sink sleeps;
///   keep class references out of it (or `unowned(unsafe)`) so the call does no ARC traffic.
/// - `frame` is only valid during the call: copy what you need, never keep the pointer — the
///   frame goes back to the kernel (TX or fill ring) right after.
/// - Must never fail or block forwarding: it returns nothing.
public struct MirrorHook: Sendable {
    /// Frames and bytes the hook saw (the placeholder's only state; lets tests check that the
    /// hook runs exactly once per received frame).
    public private(set) var framesSeen: UInt64 = 0
    public private(set) var bytesSeen: UInt64 = 0
    /// Frames whose ingress ifindex was not the binding's own (must stay 0).
    public private(set) var foreignIngress: UInt64 = 0
    /// The binding this hook belongs to.
    public let context: MirrorHookContext

    public init(context: MirrorHookContext) {
        self.context = context
    }

    @inline(__always)
    public mutating func frameReceived(_ frame: UnsafeRawBufferPointer, ingressIfindex: UInt32) {
        framesSeen &+= 1
        bytesSeen &+= UInt64(frame.count)
        if ingressIfindex != context.ifindex { foreignIngress &+= 1 }
    }
}

/// Which binding a hook is made for (passed to the hook factory at start, not per packet).
public struct MirrorHookContext: Sendable, Equatable {
    public var crossConnect: String
    public var interface: String
    public var ifindex: UInt32
    public var queue: UInt32
}
