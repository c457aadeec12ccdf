import Foundation

/// A remote collector in its own network namespace, reachable from the test's namespace (where
/// spantapd runs) over one veth, the underlay:
///
///     (test ns) tstU… 10.78.N.1/24 ══veth══ [col-xxx: eth0 10.78.N.2/24, vxlan devices per VNI]
///
/// or, with `ipv6`, fd78:N::1/64 and fd78:N::2/64 (no duplicate address detection: usable at once).
/// The collector decapsulates with kernel VXLAN devices of its own (`ip link add ... type vxlan
/// id N dstport 4789`), as an operator's analyzer host would. Addresses exist only on these two
/// ends. `teardown()` (call it from `defer`) removes everything; `init` cleans up if it fails.
// @unchecked: immutable after init except teardown(), which one test calls once (from defer).
public final class CollectorLab: @unchecked Sendable {
    public let namespace: String
    /// spantapd's end of the underlay, in the test's namespace.
    public let underlay: String
    public let localAddress: String
    public let collectorAddress: String

    public init(ipv6: Bool = false) throws {
        namespace = "col-" + String(uniqueName("").dropFirst(3))
        underlay = uniqueName("U")
        let subnet = Int.random(in: 1...254)
        localAddress = ipv6 ? "fd78:\(subnet)::1" : "10.78.\(subnet).1"
        collectorAddress = ipv6 ? "fd78:\(subnet)::2" : "10.78.\(subnet).2"
        let prefix = ipv6 ? "/64" : "/24", options = ipv6 ? ["nodad"] : []
        do {
            try run("ip", "netns", "add", namespace)
            // Quiet: no IPv6 in the lab unless it is the underlay, so every frame captured is one
            // the test caused (or, with IPv6, neighbour discovery, which filters leave out).
            if !ipv6 {
                try inCollector("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
            }
            try run("ip", "link", "add", underlay, "type", "veth", "peer", "name", "eth0", "netns", namespace)
            if !ipv6 { try run("sysctl", "-q", "-w", "net.ipv6.conf.\(underlay).disable_ipv6=1") }
            try run(["ip", "addr", "add", localAddress + prefix, "dev", underlay] + options)
            try run("ip", "link", "set", underlay, "up")
            try run(["ip", "-n", namespace, "addr", "add", collectorAddress + prefix, "dev", "eth0"] + options)
            try run("ip", "-n", namespace, "link", "set", "lo", "up")
            try run("ip", "-n", namespace, "link", "set", "eth0", "up")
        } catch {
            teardown()
            throw error
        }
    }

    /// Adds the collector's VXLAN device for `vni`, named `vx<vni>`, up; returns its name.
    @discardableResult
    public func addVXLAN(vni: UInt32, dstport: UInt16 = 4789) throws -> String {
        let name = "vx\(vni)"
        try inCollector("ip", "link", "add", name, "type", "vxlan", "id", "\(vni)", "dstport", "\(dstport)",
                        "local", collectorAddress, "nolearning")
        try inCollector("ip", "link", "set", name, "up")
        return name
    }

    @discardableResult
    public func inCollector(_ arguments: String...) throws -> String {
        try run(["ip", "netns", "exec", namespace] + arguments)
    }

    public func teardown() {
        if let pids = try? run("ip", "netns", "pids", namespace) {
            for pid in pids.split(whereSeparator: \.isNewline) { _ = try? run("kill", "-9", String(pid)) }
        }
        removeLinkIfPresent(underlay)
        _ = try? run("ip", "netns", "del", namespace)
    }
}
