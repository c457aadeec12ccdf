/// What the forwarding loop calls around the frames of an RX batch. `MirrorHook` is the shipped
/// one; spantap-bench drives the same loop with others (`LoopBench`). The loop is generic over
/// it and specialized per conformer, so a call is static and inline, never a witness call.
@_spi(Benchmark) public protocol FrameHook {
    /// Once per RX batch, before its frames.
    mutating func batchStarted()
    /// Once per received frame, after the forwarding decision (`forwarded`: it went onto the
    /// peer's TX ring); `frame` is valid only during the call.
    mutating func frameReceived(_ frame: UnsafeRawBufferPointer, forwarded: Bool)
    /// Once per RX batch, after its frames.
    mutating func batchEnded()
}

@_spi(Benchmark) extension MirrorHook: FrameHook {}
