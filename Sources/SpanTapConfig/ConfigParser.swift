import Foundation

/// Reads and validates a SpanTap config (Junos style, hierarchical or `set` form, or both mixed).
///
/// Parsing is pure: it reads the file and nothing else, so `spantapd --check` and a reload can
/// reject a bad config before anything running changes.
public enum ConfigParser {
    public static func parse(contentsOf path: String) throws(ConfigError) -> SpanTapConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(file: path, line: 0, column: 0, message: "cannot read config: \(error.localizedDescription)")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String = "<config>") throws(ConfigError) -> SpanTapConfig {
        var interpreter = ConfigInterpreter()
        for path in try ConfigStatements(file: file).paths(text) {
            try interpreter.apply(path)
        }
        return try ConfigValidator(interpreter: interpreter).validated()
    }
}
