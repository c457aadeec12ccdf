import Foundation

/// Reads and validates a SpanTap config (Junos style, hierarchical or `set` form, or both mixed).
///
/// Parsing is pure: it reads the file and nothing else, so `spantapd --check` and a reload can
/// reject a bad config before anything running changes.
public enum ConfigParser {
    public static func parse(contentsOf path: String) throws(ConfigError) -> SpanTapConfig {
        let bytes: Data
        do {
            bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigError(file: path, line: 0, column: 0, message: "cannot read config: \(error.localizedDescription)")
        }
        return try parse(decodeUTF8(Array(bytes), file: path), file: path)
    }

    /// The file as text. A byte that is not valid UTF-8 (even in a comment) is an error at its
    /// line and column (counted like the tokenizer's: one column per character), not a failure
    /// to read the whole file.
    static func decodeUTF8(_ bytes: [UInt8], file: String) throws(ConfigError) -> String {
        var parser = Unicode.UTF8.ForwardParser()
        var input = bytes.makeIterator()
        var offset = 0, line = 1, column = 1
        while true {
            switch parser.parseScalar(from: &input) {
            case .valid(let encoded):
                offset += encoded.count
                if encoded.count == 1 && encoded.first == UInt8(ascii: "\n") { line += 1; column = 1 } else { column += 1 }
            case .error:
                let byte = "0x" + String(bytes[offset], radix: 16, uppercase: true)
                throw ConfigError(file: file, line: line, column: column, message: "invalid UTF-8 byte \(byte)")
            case .emptyInput:
                return String(decoding: bytes, as: UTF8.self)
            }
        }
    }

    public static func parse(_ text: String, file: String = "<config>") throws(ConfigError) -> SpanTapConfig {
        var interpreter = ConfigInterpreter()
        for path in try ConfigStatements(file: file).paths(text) {
            try interpreter.apply(path)
        }
        try interpreter.resolveNextHopGroups()
        return try ConfigValidator(interpreter: interpreter).validated()
    }
}
