/// What a name in the config may be. `--check` and reload apply these, so a config they accept
/// never fails at start because the kernel, or a TAP's ifalias, refuses one of its names.
enum NameRules {
    /// IFNAMSIZ (16) less the terminating NUL.
    static let maximumInterfaceNameBytes = 15
    /// Instance and cross-connect names. Long enough for any descriptive name; short enough to
    /// read in logs and status, and for a single name always to fit a TAP's ifalias
    /// ("spantap: NAME", at most 255 bytes).
    static let maximumNameBytes = 64

    /// The kernel's dev_valid_name() rules, and no control or other invisible characters.
    ///
    /// SpanTapLink's `InterfaceName.validate` checks names again before they reach the kernel;
    /// this rule is stricter or equal (this module has no dependencies, so they cannot share
    /// code): it also rejects Unicode whitespace and invisible characters, and UTF-8 sequences
    /// containing byte 0xA0, which the kernel's Latin-1 isspace() treats as a space.
    static func interfaceNameProblem(_ name: String) -> String? {
        let bytes = name.utf8.count
        guard bytes > 0 else { return "interface name is empty" }
        guard bytes <= maximumInterfaceNameBytes else {
            return "interface name '\(name)' is \(bytes) bytes long; Linux allows at most \(maximumInterfaceNameBytes)"
        }
        guard name != ".", name != ".." else { return "interface name may not be '.' or '..'" }
        for scalar in name.unicodeScalars {
            let what: String
            if scalar == "/" || scalar == ":" {
                what = "'\(scalar)'"
            } else if let invisible = describeInvisible(scalar) {
                what = invisible
            } else if scalar.utf8.contains(0xA0) {
                what = "'\(scalar)' (its UTF-8 byte 0xA0 counts as a space to the kernel)"
            } else {
                continue
            }
            return "interface name '\(name)' contains \(what); Linux interface names may not contain '/', ':', whitespace or control characters"
        }
        return nil
    }

    /// Instance and cross-connect names (`kind` says which): 1 to `maximumNameBytes` bytes of
    /// visible characters, no whitespace.
    static func nameProblem(_ name: String, kind: String) -> String? {
        let bytes = name.utf8.count
        guard bytes > 0 else { return "\(kind) name is empty" }
        guard bytes <= maximumNameBytes else {
            return "\(kind) name '\(name.prefix(16))...' is \(bytes) bytes long; at most \(maximumNameBytes) are allowed"
        }
        for scalar in name.unicodeScalars {
            guard let what = describeInvisible(scalar) else { continue }
            return "\(kind) name '\(name)' contains \(what); names must be visible characters without spaces"
        }
        return nil
    }

    /// Whitespace, control, format and other characters that do not show as themselves, named
    /// for an error message; nil for a visible character.
    static func describeInvisible(_ scalar: Unicode.Scalar) -> String? {
        if scalar == " " { return "a space" }
        let hex = String(scalar.value, radix: 16, uppercase: true)
        let code = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        if scalar.properties.isWhitespace { return "whitespace \(code)" }
        switch scalar.properties.generalCategory {
        case .control: return "control character \(code)"
        case .format, .privateUse, .unassigned, .surrogate: return "invisible character \(code)"
        default: return nil
        }
    }
}
