extension ConfigInterpreter {
    ///     sink io-uring on|off
    ///     sink cpus LIST
    ///     sink scheduling idle|batch|normal
    static func applySink(_ cursor: inout PathCursor, to settings: inout SinkSettings) throws(ConfigError) {
        switch try cursor.keyword(["io-uring", "cpus", "scheduling"]) {
        case "io-uring":
            let word = try cursor.value("on or off")
            switch word.text {
            case "on": settings.ioUring = true
            case "off": settings.ioUring = false
            default: throw ConfigError(word.location, "io-uring must be on or off, not '\(word.text)'")
            }
        case "cpus":
            settings.cpus = try cpuList(cursor.value("CPU list"))
        default:
            let word = try cursor.value("scheduling class")
            guard let scheduling = SinkSettings.Scheduling(rawValue: word.text) else {
                throw ConfigError(word.location, "scheduling must be idle, batch or normal, not '\(word.text)'")
            }
            settings.scheduling = scheduling
        }
    }

    /// `0`, `0-3`, `0,2,4-5` (as taskset writes them): the CPUs, sorted, each once.
    static func cpuList(_ word: LocatedWord) throws(ConfigError) -> [Int] {
        var cpus = Set<Int>()
        for part in word.text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            guard (1...2).contains(bounds.count), let low = bounds.first ?? nil, let high = bounds.last ?? nil,
                  low >= 0, low <= high, high < 1024 else {
                throw ConfigError(word.location, "cpus wants a list like 0, 0-3 or 0,2-3 (CPUs 0 to 1023), not '\(word.text)'")
            }
            cpus.formUnion(low...high)
        }
        return cpus.sorted()
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
