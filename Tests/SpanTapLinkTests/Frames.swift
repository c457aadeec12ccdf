import Glibc
import SystemPackage

/// Everything readable from a TAP fd during `duration`: each read(2) returns one frame the
/// kernel transmitted on the device (what tcpdump on it would show as outgoing).
func framesEmitted(on fd: FileDescriptor, during duration: Duration) throws -> [[UInt8]] {
    let deadline = ContinuousClock.now + duration
    var frames: [[UInt8]] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while case let remaining = deadline - .now, remaining > .zero {
        var poller = pollfd(fd: fd.rawValue, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(remaining / .milliseconds(1)) + 1
        let ready = poll(&poller, 1, milliseconds)
        if ready < 0 && errno == EINTR { continue }
        guard ready > 0 else { continue }
        let count = try buffer.withUnsafeMutableBytes { try fd.read(into: $0) }
        frames.append(Array(buffer[..<count]))
    }
    return frames
}

/// "ethertype 0x86dd, 90 bytes" for failure messages.
func summary(_ frames: [[UInt8]]) -> String {
    frames.map { frame in
        frame.count >= 14
            ? "ethertype 0x\(String(UInt16(frame[12]) << 8 | UInt16(frame[13]), radix: 16)), \(frame.count) bytes"
            : "\(frame.count) bytes"
    }.joined(separator: "; ")
}
