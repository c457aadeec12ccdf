/// The free list of UMEM frames, owned by one forwarding thread (no locks, no atomics, no
/// allocation after init).
///
/// A frame is in exactly one place at a time:
///   free (here) → fill ring (kernel) → RX ring (kernel→us) → TX ring of the peer (us→kernel)
///   → completion ring (kernel→us) → free; or RX → dropped → free.
/// The loop keeps counts of the frames it handed to fill and TX rings, so
/// `free + inFill + inTX == total` must hold between batches (checked by the loop).
///
/// `isFree` is the debug invariant for "never double-free": giving back a frame that is already
/// free (or an address outside the UMEM) is refused and counted instead of corrupting the list.
struct FramePool {
    let total: Int
    let frameSize: UInt64
    private let stack: UnsafeMutablePointer<UInt64>
    private let isFree: UnsafeMutablePointer<Bool>
    private(set) var count: Int
    /// Frames given back while already free, or with an address outside the UMEM.
    private(set) var doubleFrees: UInt64 = 0

    init(frameCount: Int, frameSize: UInt32) {
        total = frameCount
        self.frameSize = UInt64(frameSize)
        stack = .allocate(capacity: frameCount)
        isFree = .allocate(capacity: frameCount)
        isFree.initialize(repeating: true, count: frameCount)
        // Low addresses on top so the first frames used are the first pages.
        for i in 0..<frameCount { stack[i] = UInt64(frameCount - 1 - i) * UInt64(frameSize) }
        count = frameCount
    }

    /// Takes a free frame (its base address), or nil when none is free.
    @inline(__always)
    mutating func take() -> UInt64? {
        guard count > 0 else { return nil }
        count -= 1
        let addr = stack[count]
        isFree[Int(addr / frameSize)] = false
        return addr
    }

    /// Returns a frame. `addr` may point inside the frame (RX/TX descriptors carry the data
    /// offset after the headroom); aligned mode lets us round down to the frame base.
    @inline(__always)
    mutating func give(_ addr: UInt64) {
        let index = Int(addr / frameSize)
        guard index < total, !isFree[index] else {
            doubleFrees &+= 1
            return
        }
        isFree[index] = true
        stack[count] = UInt64(index) * frameSize
        count += 1
    }

    func deallocate() {
        stack.deallocate()
        isFree.deallocate()
    }
}
