/// Walks one statement path word by word, producing errors that name the word, what was expected
/// and the statement so far.
struct PathCursor {
    let words: [LocatedWord]
    private(set) var position = 0

    init(_ words: [LocatedWord]) { self.words = words }

    private var context: String { words[..<position].map(\.text).joined(separator: " ") }
    /// Where the word just consumed was written.
    var lastWordLocation: SourceLocation { words[max(position - 1, 0)].location }

    /// The next word, which must be one of `keywords`.
    mutating func keyword(_ keywords: [String]) throws(ConfigError) -> String {
        guard position < words.count else {
            throw ConfigError(lastWordLocation, "incomplete statement '\(context)': expected \(Self.list(keywords))")
        }
        let word = words[position]
        guard keywords.contains(word.text) else {
            let under = position == 0 ? "at top level" : "under '\(context)'"
            throw ConfigError(word.location, "unknown statement '\(word.text)' \(under): expected \(Self.list(keywords))")
        }
        position += 1
        return word.text
    }

    /// The next word as a free value (a name or a number), described as `what` in errors.
    mutating func value(_ what: String) throws(ConfigError) -> LocatedWord {
        guard position < words.count else { throw ConfigError(lastWordLocation, "missing \(what) after '\(context)'") }
        defer { position += 1 }
        return words[position]
    }

    /// The statement must end here.
    func end() throws(ConfigError) {
        guard position < words.count else { return }
        throw ConfigError(words[position].location, "unexpected '\(words[position].text)' after '\(context)'")
    }

    private static func list(_ keywords: [String]) -> String {
        keywords.count == 1 ? "'\(keywords[0])'" : "one of " + keywords.map { "'\($0)'" }.joined(separator: ", ")
    }
}
