import SpanTapRing

/// The mirror side of one AF_XDP binding: its own handoff ring (single producer: this binding)
/// and the producer end, which the binding's `MirrorHook` borrows through a pointer so the hot
/// path does no reference counting.
///
/// Whoever starts the fast path keeps this object until `FastPath.stop()` has returned: the loop
/// thread writes through the pointer until then.
// @unchecked: `producer` is written only by the binding's forwarding thread, through the hook.
public final class BindingMirror: @unchecked Sendable {
    public let context: MirrorHookContext
    public let ring: HandoffRing
    private let producer: UnsafeMutablePointer<RingProducer>

    public init(context: MirrorHookContext, ring: HandoffRing) {
        self.context = context
        self.ring = ring
        producer = .allocate(capacity: 1)
        producer.initialize(to: ring.makeProducer())
    }

    deinit {
        producer.deinitialize(count: 1)
        producer.deallocate()
    }

    /// The hook for this binding, reading its rule from the ring's rule table.
    public func hook() -> MirrorHook {
        MirrorHook(context: context, producer: producer)
    }
}
