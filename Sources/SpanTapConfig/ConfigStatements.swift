/// A word of a statement and where it was written.
struct LocatedWord: Equatable {
    let text: String
    let location: SourceLocation
}

/// Reduces both config forms to the same thing: one path of words per leaf statement.
///
///     forwarding-options { port-mirroring { instance span1 { input { rate 10; } } } }
///     set forwarding-options port-mirroring instance span1 input rate 10
///
/// both become `forwarding-options port-mirroring instance span1 input rate 10`, so one interpreter
/// serves both and every error can point at the word that caused it.
struct ConfigStatements {
    let file: String

    func paths(_ text: String) throws(ConfigError) -> [[LocatedWord]] {
        let tokens = try ConfigTokenizer(file: file).tokens(text)
        var paths: [[LocatedWord]] = []
        var enclosing: [[LocatedWord]] = []   // the words before each open '{'
        var openedAt: [SourceLocation] = []
        var current: [LocatedWord] = []
        var flat = false                        // inside a `set ...` line
        for (position, token) in tokens.enumerated() {
            switch token.kind {
            case .word(let text):
                if current.isEmpty && enclosing.isEmpty && text == "set" && !flat {
                    flat = true
                } else {
                    current.append(LocatedWord(text: text, location: token.location))
                }
            case .newline:
                if flat {
                    guard !current.isEmpty else { throw ConfigError(token.location, "'set' needs a statement after it") }
                    paths.append(current)
                    current = []
                    flat = false
                } else if let last = current.last, !Self.nextIsOpenBrace(tokens, after: position) {
                    throw ConfigError(last.location, "missing ';' after '\(current.map(\.text).joined(separator: " "))'")
                }
            case .semicolon:
                guard !flat else { throw ConfigError(token.location, "unexpected ';' in a 'set' line") }
                guard !current.isEmpty else { throw ConfigError(token.location, "empty statement (stray ';')") }
                paths.append(enclosing.flatMap { $0 } + current)
                current = []
            case .openBrace:
                guard !flat else { throw ConfigError(token.location, "unexpected '{' in a 'set' line") }
                guard !current.isEmpty else { throw ConfigError(token.location, "'{' must follow a statement name") }
                enclosing.append(current)
                openedAt.append(token.location)
                current = []
            case .closeBrace:
                guard !flat else { throw ConfigError(token.location, "unexpected '}' in a 'set' line") }
                if let last = current.last {
                    throw ConfigError(last.location, "missing ';' after '\(current.map(\.text).joined(separator: " "))'")
                }
                guard !enclosing.isEmpty else { throw ConfigError(token.location, "unbalanced braces: '}' without a matching '{'") }
                enclosing.removeLast()
                openedAt.removeLast()
            }
        }
        if flat && !current.isEmpty { paths.append(current) }
        if let last = current.last, !flat {
            throw ConfigError(last.location, "missing ';' after '\(current.map(\.text).joined(separator: " "))'")
        }
        if let open = openedAt.last {
            throw ConfigError(open, "unbalanced braces: '{' opened here is never closed")
        }
        return paths
    }

    /// Allows the brace of a block on the line after its name (`instance span1` newline `{`).
    private static func nextIsOpenBrace(_ tokens: [ConfigToken], after position: Int) -> Bool {
        tokens[(position + 1)...].first { $0.kind != .newline }?.kind == .openBrace
    }
}
