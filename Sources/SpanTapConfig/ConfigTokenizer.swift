/// One lexical element of a config file.
struct ConfigToken: Equatable {
    enum Kind: Equatable { case word(String), openBrace, closeBrace, semicolon, newline }
    let kind: Kind
    let location: SourceLocation
}

/// Splits Junos-style config text into words, braces, semicolons and newlines. `#` starts a
/// comment to the end of the line, `/* ... */` a block comment; "double quotes" make one word.
/// Newlines are kept because the flat `set` form ends statements at the end of a line.
struct ConfigTokenizer {
    let file: String

    func tokens(_ text: String) throws(ConfigError) -> [ConfigToken] {
        var tokens: [ConfigToken] = []
        let characters = Array(text.unicodeScalars)
        var index = 0, line = 1, column = 1
        func here() -> SourceLocation { SourceLocation(file: file, line: line, column: column) }
        func advance() {
            if characters[index] == "\n" { line += 1; column = 1 } else { column += 1 }
            index += 1
        }
        while index < characters.count {
            let c = characters[index]
            let start = here()
            switch c {
            case "\n":
                tokens.append(ConfigToken(kind: .newline, location: start))
                advance()
            case " ", "\t", "\r":
                advance()
            case "#":
                while index < characters.count && characters[index] != "\n" { advance() }
            case "/" where index + 1 < characters.count && characters[index + 1] == "*":
                advance(); advance()
                while index < characters.count && !(characters[index] == "*" && index + 1 < characters.count && characters[index + 1] == "/") {
                    advance()
                }
                guard index < characters.count else { throw ConfigError(start, "comment '/*' is never closed") }
                advance(); advance()
            case "{", "}", ";":
                tokens.append(ConfigToken(kind: c == "{" ? .openBrace : c == "}" ? .closeBrace : .semicolon, location: start))
                advance()
            case "\"":
                advance()
                var word = ""
                while index < characters.count && characters[index] != "\"" && characters[index] != "\n" {
                    word.unicodeScalars.append(characters[index])
                    advance()
                }
                guard index < characters.count, characters[index] == "\"" else {
                    throw ConfigError(start, "quoted string is not closed on this line")
                }
                advance()
                tokens.append(ConfigToken(kind: .word(word), location: start))
            default:
                var word = ""
                while index < characters.count && !" \t\r\n{};#\"".unicodeScalars.contains(characters[index]) {
                    word.unicodeScalars.append(characters[index])
                    advance()
                }
                tokens.append(ConfigToken(kind: .word(word), location: start))
            }
        }
        return tokens
    }
}
