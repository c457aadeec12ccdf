/// Interface and namespace names for one test: `tst` + a tag + random suffix, at most 15 bytes
/// (IFNAMSIZ - 1). The `tst` prefix makes leftovers easy to spot with `ip -o link`.
public func uniqueName(_ tag: String) -> String {
    let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    return String("tst\(tag.prefix(5))\(suffix)".prefix(15))
}

/// Deletes a link by name if it still exists; used in `defer` so failed tests leave nothing behind.
public func removeLinkIfPresent(_ name: String) {
    _ = try? run("ip", "link", "del", name)
}
