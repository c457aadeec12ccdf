import Testing

@testable import SpanTapFastPath

/// The UMEM free list's own invariant checks; no privileges needed.
struct FramePoolTests {
    @Test func takeAndGiveRoundTrip() {
        var pool = FramePool(frameCount: 4, frameSize: 4096)
        defer { pool.deallocate() }
        let a = pool.take()!, b = pool.take()!
        #expect(a != b && a % 4096 == 0 && b % 4096 == 0)
        #expect(pool.count == 2)
        pool.give(a + 256)  // RX/TX descriptors point past the headroom: rounds to the frame
        pool.give(b)
        #expect(pool.count == 4 && pool.doubleFrees == 0)
    }

    @Test func doubleFreeIsRefusedAndCounted() {
        var pool = FramePool(frameCount: 2, frameSize: 4096)
        defer { pool.deallocate() }
        let a = pool.take()!
        pool.give(a)
        pool.give(a)                 // second return of the same frame
        pool.give(3 * 4096)          // outside the UMEM
        #expect(pool.count == 2)
        #expect(pool.doubleFrees == 2)
        #expect(pool.take() != pool.take())
        #expect(pool.take() == nil)
    }

    @Test func accountingHoldsOnlyWhenTheSumMatches() {
        let ok = FrameAccounting(total: 8, free: 4, inFillRings: 3, inTXRings: 1, doubleFrees: 0, violations: 0)
        #expect(ok.holds)
        var leaked = ok
        leaked.free = 3
        #expect(!leaked.holds)
    }
}

struct FastPathConfigTests {
    @Test func interfaceUsedTwiceIsRejectedWithBothNames() {
        let config = FastPathConfig(crossConnects: [
            CrossConnectConfig(name: "wire0", interfaceA: "fwd-a", interfaceB: "fwd-b"),
            CrossConnectConfig(name: "wire1", interfaceA: "fwd-c", interfaceB: "fwd-a"),
        ])
        #expect(throws: FastPathError.interfaceReused(interface: "fwd-a", crossConnects: ["wire0", "wire1"])) {
            try config.validate()
        }
    }

    @Test func autoTriesNativeThenGeneric() {
        #expect(XDPMode.auto.attempts == [.native, .generic])
        #expect(XDPMode.generic.attempts == [.generic])
    }
}
