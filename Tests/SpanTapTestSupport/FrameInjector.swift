import Foundation

extension NamespaceLab {
    /// Sends `frames` out of host A's eth0 exactly as given (an AF_PACKET socket in A's namespace),
    /// `gapMicroseconds` apart so the lab's veths lose none: the forwarder receives them on its A
    /// side byte for byte, whatever their addresses, ports or tags.
    public func sendFromA(_ frames: [[UInt8]], gapMicroseconds: Int = 500) throws {
        let list = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(uniqueName("frames") + ".hex")
        try frames.map { $0.map { String(format: "%02x", $0) }.joined() }.joined(separator: "\n")
            .write(to: list, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: list) }
        let sender = """
            import socket, sys, time
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            s.bind(("eth0", 0))
            gap = int(sys.argv[2]) / 1e6
            for line in open(sys.argv[1]):
                s.send(bytes.fromhex(line.strip()))
                time.sleep(gap)
            """
        try inA("python3", "-c", sender, list.path, String(gapMicroseconds))
    }
}
