/// Config the parser accepts but this daemon's settings cannot honour.
enum DaemonError: Error, CustomStringConvertible {
    case snapLengthTooLarge(instance: String, length: Int, capacity: Int)
    case tooManyRules(count: Int, capacity: Int)
    case tooManyFilters(count: Int, capacity: Int)
    case cpuNotPresent(statement: String, cpu: Int, present: Int)

    var description: String {
        switch self {
        case .snapLengthTooLarge(let instance, let length, let capacity):
            "instance \(instance): maximum-packet-length \(length) is larger than a ring slot holds (\(capacity) bytes); "
                + "lower it or start spantapd with a larger --ring-slot-size"
        case .tooManyRules(let count, let capacity):
            "\(count) mirrored interfaces; a ring's rule table holds \(capacity)"
        case .tooManyFilters(let count, let capacity):
            "\(count) different filters; a ring's program table holds \(capacity) (selections with the same expression share one)"
        case .cpuNotPresent(let statement, let cpu, let present):
            "\(statement) names CPU \(cpu), but this machine has CPUs 0 to \(present - 1)"
        }
    }
}
