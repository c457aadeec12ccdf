import Glibc

/// Whether tests that need root (TAP devices, netlink changes, namespaces, AF_XDP) may run.
///
/// They run as root. Without root they are skipped with a message, unless
/// `SPANTAP_REQUIRE_PRIVILEGED` is set (CI sets it): then they run and fail loudly instead of
/// silently skipping.
public enum Privileges {
    public static let isRoot = geteuid() == 0
    public static let required = getenv("SPANTAP_REQUIRE_PRIVILEGED") != nil
    public static let testsMayRun = isRoot || required
    public static let skipReason =
        "needs root for real TAP/netlink/netns objects; run as root, or set SPANTAP_REQUIRE_PRIVILEGED=1 to fail instead of skip"
}
