import SpanTapControl

/// The outputs' latency histograms in the Prometheus text format. swift-prometheus's histograms
/// take one observation at a time; the sink's histogram already holds the distribution, so its
/// cumulative buckets are written out as they are, with the registry's conventions (HELP and TYPE
/// once, `le` in seconds, `+Inf`, `_sum` and `_count`).
enum LatencyExposition {
    static let name = "spantap_output_latency_seconds"

    static func render(_ instances: [StatusReport.Instance]) -> String {
        let series = instances.compactMap { instance in instance.output.latency.map { (instance, $0) } }
        guard !series.isEmpty else { return "" }
        var text = "# HELP \(name) Time from a frame's producer timestamp to the end of its write to the output (upper bound per drained batch).\n"
        text += "# TYPE \(name) histogram\n"
        for (instance, latency) in series {
            let labels = "mirror_instance=\"\(escaped(instance.name))\",output=\"\(escaped(instance.output.interface))\""
            for bucket in latency.buckets {
                text += "\(name)_bucket{\(labels),le=\"\(Double(bucket.leUs) / 1_000_000)\"} \(bucket.count)\n"
            }
            text += "\(name)_bucket{\(labels),le=\"+Inf\"} \(latency.samples)\n"
            text += "\(name)_sum{\(labels)} \(latency.sumUs / 1_000_000)\n"
            text += "\(name)_count{\(labels)} \(latency.samples)\n"
        }
        return text
    }

    /// Label values escape backslash, double quote and newline (the text format's three).
    private static func escaped(_ value: String) -> String {
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
