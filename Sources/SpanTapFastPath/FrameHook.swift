/// What the forwarding loop calls around the frames of an RX batch. `MirrorHook` is the shipped
/// one; spantap-bench drives the same loop with others (`LoopBench`). The loop is generic over
/// it and specialized per conformer, so a call is static and inline, never a witness call.
@_spi(Benchmark) public protocol FrameHook {
    /// Once per RX batch, before its frames. Returns whether the batch's frames are to be shown
    /// to `frameReceived`: a binding with nothing to mirror costs the loop one register test per
    /// frame, not a look at the hook.
    mutating func batchStarted() -> Bool
    /// Once per received frame of a batch `batchStarted` asked to see, after the forwarding
    /// decision (`forwarded`: it went onto the peer's TX ring); `frame` is valid only during the call.
    mutating func frameReceived(_ frame: UnsafeRawBufferPointer, forwarded: Bool)
    /// Once per RX batch, after its frames.
    mutating func batchEnded()
}

@_spi(Benchmark) extension MirrorHook: FrameHook {}
