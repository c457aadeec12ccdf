/// LinkMonitor's picture of the links (ifindex → latest state), and the events that follow
/// from each new kernel message.
///
/// rtnetlink only says "here is the link now" (RTM_NEWLINK) or "it is gone" (RTM_DELLINK); a
/// rename or an up/down is recognisable only by comparing with the state seen before.
struct LinkTable: Sendable {
    private(set) var links: [Int32: LinkInfo] = [:]

    /// Records `link` (from RTM_NEWLINK or a dump) and returns what changed.
    mutating func update(_ link: LinkInfo) -> [LinkEvent] {
        guard let previous = links.updateValue(link, forKey: link.ifindex) else {
            return [.added(link)]
        }
        var events: [LinkEvent] = []
        if previous.name != link.name {
            events.append(.renamed(link, from: previous.name))
        }
        if previous.isUp != link.isUp || previous.isRunning != link.isRunning {
            events.append(.stateChanged(link))
        }
        return events
    }

    /// Forgets `link` (from RTM_DELLINK). A link never seen produces no event.
    mutating func remove(_ link: LinkInfo) -> [LinkEvent] {
        guard links.removeValue(forKey: link.ifindex) != nil else { return [] }
        return [.removed(link)]
    }

    /// After a complete dump: every link the dump did not mention is gone.
    mutating func removeAll(notIn present: Set<Int32>) -> [LinkEvent] {
        let vanished = links.values.filter { !present.contains($0.ifindex) }.sorted { $0.ifindex < $1.ifindex }
        for link in vanished {
            links[link.ifindex] = nil
        }
        return vanished.map { .removed($0) }
    }
}
