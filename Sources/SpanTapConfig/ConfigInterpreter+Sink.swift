extension ConfigInterpreter {
    ///     sink io-uring on|off
    static func applySink(_ cursor: inout PathCursor, to settings: inout SinkSettings) throws(ConfigError) {
        _ = try cursor.keyword(["io-uring"])
        let word = try cursor.value("on or off")
        switch word.text {
        case "on": settings.ioUring = true
        case "off": settings.ioUring = false
        default: throw ConfigError(word.location, "io-uring must be on or off, not '\(word.text)'")
        }
    }

    ///     forwarding-options port-mirroring instance NAME output queues N|auto
    static func queues(_ word: LocatedWord) throws(ConfigError) -> OutputQueues {
        if word.text == "auto" { return .auto }
        guard let count = Int(word.text), (1...OutputQueues.maximum).contains(count) else {
            throw ConfigError(word.location, "queues must be auto or a whole number from 1 to \(OutputQueues.maximum), not '\(word.text)'")
        }
        return .count(count)
    }
}
