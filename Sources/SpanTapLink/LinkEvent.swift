/// A change to the set of links, as reported by `LinkMonitor`.
public enum LinkEvent: Sendable, Equatable {
    case added(LinkInfo)
    case removed(LinkInfo)
    /// Same ifindex, new name; `from` is the name it had before.
    case renamed(LinkInfo, from: String)
    /// IFF_UP or IFF_RUNNING changed (administrative or operational state).
    case stateChanged(LinkInfo)

    /// The link as it is after the event (as it was, for `.removed`).
    public var link: LinkInfo {
        switch self {
        case .added(let link), .removed(let link), .renamed(let link, _), .stateChanged(let link): link
        }
    }
}
