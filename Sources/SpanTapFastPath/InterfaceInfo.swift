import Glibc

/// Name → ifindex and RX queue count of a network interface, read once at start (not on the
/// packet path).
struct InterfaceInfo: Sendable {
    let name: String
    let ifindex: UInt32
    /// Number of RX queues (one AF_XDP binding each). Read from /sys/class/net/IF/queues/rx-*,
    /// which reflects `real_num_rx_queues`; veth usually has 1.
    let rxQueues: UInt32

    init(_ name: String) throws {
        let index = if_nametoindex(name)
        guard index != 0 else { throw FastPathError.noSuchInterface(name) }
        self.name = name
        self.ifindex = index
        self.rxQueues = max(1, InterfaceInfo.countRXQueues(name))
    }

    private static func countRXQueues(_ name: String) -> UInt32 {
        guard let dir = opendir("/sys/class/net/\(name)/queues") else { return 1 }
        defer { closedir(dir) }
        var count: UInt32 = 0
        while let entry = readdir(dir) {
            let entryName = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if entryName.hasPrefix("rx-") { count += 1 }
        }
        return count
    }
}
