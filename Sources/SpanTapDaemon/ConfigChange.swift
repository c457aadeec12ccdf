import SpanTapConfig

/// What a reload changed, for the log and the `spantap reload` answer.
struct ConfigChange: CustomStringConvertible {
    let added: [String], removed: [String], changed: [String], outputsAdded: [String], outputsRemoved: [String],
        outputsRemade: [String]

    init(from old: SpanTapConfig, to new: SpanTapConfig, plan: OutputManager.Plan) {
        let oldByName = Dictionary(uniqueKeysWithValues: old.instances.map { ($0.name, $0) })
        let newNames = Set(new.instances.map(\.name))
        added = new.instances.map(\.name).filter { oldByName[$0] == nil }
        removed = old.instances.map(\.name).filter { !newNames.contains($0) }
        changed = new.instances.filter { instance in oldByName[instance.name].map { $0 != instance } ?? false }.map(\.name)
        outputsAdded = plan.added.map(\.configuredName)
        outputsRemoved = plan.removed
        outputsRemade = plan.replaced.map(\.output.configuredName)
    }

    var description: String {
        let parts = [("instances added", added), ("instances removed", removed), ("instances changed", changed),
                     ("outputs added", outputsAdded), ("outputs removed", outputsRemoved),
                     ("outputs re-made", outputsRemade)]
            .filter { !$0.1.isEmpty }
            .map { "\($0.0): \($0.1.joined(separator: ", "))" }
        return parts.isEmpty ? "no changes" : parts.joined(separator: "; ")
    }
}
