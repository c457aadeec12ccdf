/// The deterministic frame pattern shared with Fixtures/c_producer.c: sequence number in the first
/// 8 bytes, then bytes derived from (seq, offset), 60 to 1514 bytes long.
enum TestFrames {
    static func length(_ seq: UInt64) -> Int { 60 + Int(seq &* 37 % 1455) }

    static func fill(_ buffer: UnsafeMutableRawBufferPointer, seq: UInt64) {
        for i in 0..<buffer.count { buffer[i] = UInt8(truncatingIfNeeded: seq &* 131 &+ UInt64(i) &* 7) }
        withUnsafeBytes(of: seq) { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0.prefix(buffer.count))) }
    }

    /// True if `frame` is exactly what `fill` writes for the sequence number it carries.
    static func isIntact(_ frame: UnsafeRawBufferPointer) -> UInt64? {
        guard frame.count >= 8 else { return nil }
        let seq = frame.loadUnaligned(as: UInt64.self)
        guard frame.count == length(seq) else { return nil }
        for i in 8..<frame.count where frame[i] != UInt8(truncatingIfNeeded: seq &* 131 &+ UInt64(i) &* 7) {
            return nil
        }
        return seq
    }
}
