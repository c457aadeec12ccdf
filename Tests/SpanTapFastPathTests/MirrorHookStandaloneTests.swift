import SpanTapFastPath
import SpanTapRing
import Testing

/// A hook built from a public `MirrorHookContext` and driven without a fast path (as the
/// benchmark's in-process loop drives it): the rule table, the sampler and the ring behave as in the loop.
struct MirrorHookStandaloneTests {
    @Test func aHookMadeFromAPublicContextMirrorsOneInN() throws {
        let context = MirrorHookContext(crossConnect: "cc", interface: "if0", ifindex: 7, queue: 0)
        #expect(context.ifindex == 7 && context.interface == "if0" && context.crossConnect == "cc" && context.queue == 0)
        let ring = try HandoffRing.create(name: "hook-standalone", geometry: RingGeometry(slotCount: 64, slotSize: 256))
        let mirror = BindingMirror(context: context, ring: ring)
        var hook = mirror.hook()
        let frame: [UInt8] = Array(repeating: 0xab, count: 60)

        let unruled = hook.batchStarted()
        #expect(!unruled, "no rule: the loop need not show the hook its frames")
        frame.withUnsafeBytes { hook.frameReceived($0, forwarded: true) }
        hook.batchEnded()
        #expect(ring.counters.mirroredPackets == 0, "no rule: nothing mirrored")

        ring.publishRules([RingRule(ifindex: 7, outputID: 3, rate: 4)])
        let ruled = hook.batchStarted()
        #expect(ruled, "a rule: the batch's frames go to the hook")
        for _ in 0..<8 { frame.withUnsafeBytes { hook.frameReceived($0, forwarded: true) } }
        #expect(ring.counters.mirroredPackets == 0, "staged, not yet published: the batch has not ended")
        hook.batchEnded()
        #expect(ring.counters.mirroredPackets == 2)
        var consumer = ring.makeConsumer()
        var outputs: [UInt32] = []
        _ = try consumer.drain(limit: 8) { record in
            outputs.append(record.outputID)
            return record.frame.elementsEqual(frame)
        }
        #expect(outputs == [3, 3])
    }
}
