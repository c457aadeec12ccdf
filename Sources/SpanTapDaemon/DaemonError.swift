/// Config the parser accepts but this daemon's settings cannot honour.
enum DaemonError: Error, CustomStringConvertible {
    case snapLengthTooLarge(instance: String, length: Int, capacity: Int)

    var description: String {
        switch self {
        case .snapLengthTooLarge(let instance, let length, let capacity):
            "instance \(instance): maximum-packet-length \(length) is larger than a ring slot holds (\(capacity) bytes); "
                + "lower it or start spantapd with a larger --ring-slot-size"
        }
    }
}
