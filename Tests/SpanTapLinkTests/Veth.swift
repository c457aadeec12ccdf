import SpanTapTestSupport

/// A plain non-TAP link for tests. This kernel has no dummy driver (and no modules to load
/// one), so it is a veth pair; deleting either end deletes both.
func addVethPair(_ name: String, peer: String) throws {
    try run("ip", "link", "add", name, "type", "veth", "peer", "name", peer)
}
