import CSpanTapSys
import Glibc
import SystemPackage

/// Reads what arrives on an interface, as tcpdump would show it: an AF_PACKET socket bound to the
/// interface, with the VLAN tag the kernel moved into metadata put back into the frame.
public final class PacketCapture {
    public let descriptor: FileDescriptor

    public init(ifindex: Int32) throws {
        let fd = spantap_packet_socket(ifindex, 1)
        guard fd >= 0 else { throw Errno(rawValue: errno) }
        descriptor = FileDescriptor(rawValue: fd)
        // Room for thousands of frames, so a test that reads late counts exactly, not what
        // fitted in the default 208 KiB (as root; otherwise the default stays).
        var bytes: Int32 = 16 << 20
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { try? descriptor.close() }

    /// The next frame received on the interface (frames the host itself sent are skipped), or nil
    /// if none arrives within `timeoutMilliseconds`.
    public func next(timeoutMilliseconds: Int32 = 2000) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            var pfd = pollfd(fd: descriptor.rawValue, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, timeoutMilliseconds) > 0 else { return nil }
            var tag: UInt32 = 0
            var outgoing: Int32 = 0
            let n = spantap_packet_recv(descriptor.rawValue, &buffer, buffer.count, &tag, &outgoing)
            guard n >= 0 else { return nil }
            if outgoing != 0 { continue }
            var frame = Array(buffer.prefix(min(Int(n), buffer.count)))
            if tag != 0 && frame.count >= 12 {
                let bytes = [UInt8(tag >> 24), UInt8(truncatingIfNeeded: tag >> 16),
                             UInt8(truncatingIfNeeded: tag >> 8), UInt8(truncatingIfNeeded: tag)]
                frame.insert(contentsOf: bytes, at: 12)
            }
            return frame
        }
    }

    /// Every frame that arrives until none has for `quietMilliseconds`.
    public func drain(quietMilliseconds: Int32 = 300) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        while let frame = next(timeoutMilliseconds: quietMilliseconds) { frames.append(frame) }
        return frames
    }
}

extension PacketCapture {
    /// Joins fanout group `group` in queue-mapping mode (PACKET_FANOUT_QM): with one capture per
    /// queue, joined in queue order, capture i receives the frames that arrived on rx queue i.
    public func joinQueueFanout(group: UInt16) throws {
        let packetFanout: Int32 = 18, fanoutQueueMapping: UInt32 = 5  // linux/if_packet.h
        var argument = UInt32(group) | fanoutQueueMapping << 16
        guard setsockopt(descriptor.rawValue, Int32(SOL_PACKET), packetFanout, &argument,
                         socklen_t(MemoryLayout<UInt32>.size)) == 0 else { throw Errno(rawValue: errno) }
    }
}
