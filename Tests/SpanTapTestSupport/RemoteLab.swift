/// The lab of a remote-mirroring test: hosts A and B on either side of the forwarder, their
/// neighbours pinned (so an exact count never meets an ARP probe), and a collector namespace
/// beyond an underlay. `teardown()` (call it from `defer`) removes both; `init` cleans up if it
/// fails.
public struct RemoteLab: Sendable {
    public let hosts: NamespaceLab
    public let collector: CollectorLab

    /// `ipv6`: the collector's underlay is IPv6 (see `CollectorLab`).
    public init(ipv6: Bool = false) throws {
        hosts = try NamespaceLab()
        do {
            try hosts.pinNeighbours()
            collector = try CollectorLab(ipv6: ipv6)
        } catch {
            hosts.teardown()
            throw error
        }
    }

    public func teardown() {
        collector.teardown()
        hosts.teardown()
    }
}
