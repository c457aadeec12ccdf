/// A size an operator types: a byte count, or a number with a `KiB`, `MiB` or `GiB` suffix.
public struct ByteCount: Sendable, Equatable, CustomStringConvertible {
    public let bytes: Int

    public init(bytes: Int) { self.bytes = bytes }

    private static let units = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]

    /// nil for anything but a non-negative whole number with an optional binary-unit suffix.
    public init?(parsing text: String) {
        let (digits, scale) = Self.units.first { text.hasSuffix($0.0) }.map { (text.dropLast($0.0.count), $0.1) }
            ?? (Substring(text), 1)
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let count = Int(digits), count >= 0 else { return nil }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: scale)
        guard !overflow else { return nil }
        self.bytes = bytes
    }

    /// The largest unit that states the size exactly: "1GiB", "1536KiB", "1000".
    public var description: String {
        guard let (suffix, scale) = Self.units.first(where: { bytes > 0 && bytes % $0.1 == 0 }) else { return "\(bytes)" }
        return "\(bytes / scale)\(suffix)"
    }
}
