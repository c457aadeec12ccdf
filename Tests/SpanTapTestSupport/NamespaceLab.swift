import Foundation

/// Two test hosts in their own network namespaces, each wired by a veth pair to an end left in
/// the test's namespace, for a forwarder to join:
///
///     [hA-xxx: eth0 10.77.N.1/24] ══veth══ tstA…  (test ns)  tstB… ══veth══ [hB-xxx: eth0 10.77.N.2/24]
///
/// Addresses exist only inside the two namespaces (private test hosts); nothing in the test's
/// namespace routes to them. Everything is uniquely named and `teardown()` removes it all
/// (call it from `defer`); `init` cleans up after itself if it fails half way.
///
/// The hosts' eth0 have TSO/GSO, TX checksum and VLAN offloads off: a forwarder that sees
/// frames in XDP must get real, wire-format frames (full checksums, at most MTU sized, VLAN tag
/// in the header), as from a physical NIC.
// @unchecked: immutable after init except teardown(), which one test calls once (from defer).
public final class NamespaceLab: @unchecked Sendable {
    public let namespaceA: String
    public let namespaceB: String
    /// The forwarder's ends, in the test's namespace.
    public let forwarderA: String
    public let forwarderB: String
    public let addressA: String
    public let addressB: String

    /// - Parameter build: false only picks the names; `build()` makes the hosts later (to test
    ///   a forwarder configured before its interfaces exist).
    public init(build: Bool = true) throws {
        let suffix = String(uniqueName("").dropFirst(3))
        namespaceA = "hA-\(suffix)"
        namespaceB = "hB-\(suffix)"
        forwarderA = uniqueName("A")
        forwarderB = uniqueName("B")
        let subnet = Int.random(in: 1...254)
        addressA = "10.77.\(subnet).1"
        addressB = "10.77.\(subnet).2"
        if build { try self.build() }
    }

    public func build() throws {
        do {
            try setUpHost(namespace: namespaceA, forwarderEnd: forwarderA, address: addressA)
            try setUpHost(namespace: namespaceB, forwarderEnd: forwarderB, address: addressB)
        } catch {
            teardown()
            throw error
        }
    }

    private func setUpHost(namespace: String, forwarderEnd: String, address: String) throws {
        try run("ip", "netns", "add", namespace)
        // Quiet hosts: no IPv6 of their own (no RS, DAD or MLD), so every frame a forwarder
        // counts is one a test sent or caused.
        try run("ip", "netns", "exec", namespace, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1")
        try run("ip", "link", "add", forwarderEnd, "type", "veth", "peer", "name", "eth0", "netns", namespace)
        try run("ip", "netns", "exec", namespace, "ethtool", "-K", "eth0",
                "tso", "off", "gso", "off", "tx", "off", "rxvlan", "off", "txvlan", "off")
        try run("ip", "-n", namespace, "addr", "add", "\(address)/24", "dev", "eth0")
        try run("ip", "-n", namespace, "link", "set", "lo", "up")
        try run("ip", "-n", namespace, "link", "set", "eth0", "up")
        // The forwarder's end is quiet too: without IPv6 it sends nothing of its own to the host.
        try run("sysctl", "-q", "-w", "net.ipv6.conf.\(forwarderEnd).disable_ipv6=1")
        try run("ip", "link", "set", forwarderEnd, "up")
    }

    /// Host B's eth0 received-packet count (the kernel's own counter).
    public func packetsReceivedByB() throws -> UInt64 {
        let text = try run("ip", "netns", "exec", namespaceB, "cat", "/sys/class/net/eth0/statistics/rx_packets")
        return UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    /// Runs a command inside host A's / host B's namespace.
    @discardableResult
    public func inA(_ arguments: String...) throws -> String {
        try run(["ip", "netns", "exec", namespaceA] + arguments)
    }

    @discardableResult
    public func inB(_ arguments: String...) throws -> String {
        try run(["ip", "netns", "exec", namespaceB] + arguments)
    }

    /// Static neighbour entries both ways (A for B, B for A): no ARP crosses the forwarder in the
    /// middle of an exact count.
    public func pinNeighbours() throws {
        let macA = try inA("cat", "/sys/class/net/eth0/address").trimmingCharacters(in: .whitespacesAndNewlines)
        let macB = try inB("cat", "/sys/class/net/eth0/address").trimmingCharacters(in: .whitespacesAndNewlines)
        try inA("ip", "neigh", "replace", addressB, "lladdr", macB, "dev", "eth0", "nud", "permanent")
        try inB("ip", "neigh", "replace", addressA, "lladdr", macA, "dev", "eth0", "nud", "permanent")
    }

    /// Starts a long-running command (a server) inside host B's namespace, output discarded.
    /// Not through `run`: a server that daemonizes keeps the pipe open and `run` would wait
    /// forever. `teardown()` kills whatever is still running in the namespaces.
    public func startInB(_ arguments: String...) throws -> SpawnedProcess {
        try SpawnedProcess(["ip", "netns", "exec", namespaceB] + arguments)
    }

    /// Kills every process still running in the namespaces, removes links and namespaces.
    public func teardown() {
        for namespace in [namespaceA, namespaceB] {
            if let pids = try? run("ip", "netns", "pids", namespace) {
                for pid in pids.split(whereSeparator: \.isNewline) {
                    _ = try? run("kill", "-9", String(pid))
                }
            }
        }
        removeLinkIfPresent(forwarderA)
        removeLinkIfPresent(forwarderB)
        _ = try? run("ip", "netns", "del", namespaceA)
        _ = try? run("ip", "netns", "del", namespaceB)
    }

    /// Mounts bpffs at /sys/fs/bpf if it is not (libxdp pins its dispatcher there).
    public static func ensureBPFFS() {
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        if !mounts.contains(" /sys/fs/bpf bpf ") {
            _ = try? run("mount", "-t", "bpf", "bpf", "/sys/fs/bpf")
        }
    }

    /// Whether `ip -d link show` reports an XDP program on the interface.
    public static func hasXDPProgram(_ interface: String) throws -> Bool {
        let details = try run("ip", "-d", "link", "show", "dev", interface)
        return details.contains("prog/xdp") || details.contains(" xdp")
    }
}
