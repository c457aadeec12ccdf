/// A config problem, located like a compiler error: `file:line:column: message`.
public struct ConfigError: Error, Equatable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int
    public let message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// Messages quote words of the config; invisible characters in them (NUL, escapes, tabs,
    /// format characters) are shown as `\u{XX}`, so an error is one readable line anywhere.
    init(_ location: SourceLocation, _ message: String) {
        var shown = ""
        for scalar in message.unicodeScalars {
            if scalar != " ", NameRules.describeInvisible(scalar) != nil {
                shown += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                shown.unicodeScalars.append(scalar)
            }
        }
        self.init(file: location.file, line: location.line, column: location.column, message: shown)
    }

    public var description: String { "\(file):\(line):\(column): \(message)" }
}

/// Where a word of the config starts (1-based line and column).
public struct SourceLocation: Equatable, Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int

    public var description: String { "\(file):\(line):\(column)" }
}
