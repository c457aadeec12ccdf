import SpanTapLink
import SpanTapSink

/// One mirror output of the running config: the interface an `output { interface X; }` names,
/// what spantapd has attached to it, and counters that outlive re-creations of its TAP.
final class ManagedOutput {
    enum Attachment {
        /// A TAP spantapd created or re-attached; deleted at shutdown unless persistent.
        case tap(TapOutput)
        /// An existing interface that is not a TAP; frames leave on its wire.
        case port(PortOutput)
        /// A port output whose interface is gone; records for it count as no_binding until it returns.
        case missing
    }

    /// The sink's output id: stable for the output's whole life, so producers never need updating.
    let id: UInt32
    /// The name in the config (the interface may since have been renamed: see `currentName`).
    let configuredName: String
    var currentName: String
    var persistent: Bool
    /// Queues of a TAP made for it (`output { queues }`, `auto` resolved to the sink's workers).
    var queues: Int
    /// `ifalias` of a TAP made for it: "spantap: <instances>", so `ip link` shows who owns it.
    let alias: String
    var attachment: Attachment
    let counters = OutputCounters()
    /// Times the TAP was re-created after it vanished.
    var recreated: UInt64 = 0

    init(id: UInt32, name: String, persistent: Bool, queues: Int, alias: String, attachment: Attachment) {
        self.id = id
        configuredName = name
        currentName = name
        self.persistent = persistent
        self.queues = queues
        self.alias = alias
        self.attachment = attachment
    }

    var ifindex: Int32 {
        switch attachment {
        case .tap(let tap): tap.ifindex
        case .port(let port): port.ifindex
        case .missing: 0
        }
    }

    var kind: String {
        switch attachment {
        case .tap: "tap"
        case .port: "port"
        case .missing: "missing"
        }
    }

    /// What the sink writes to, or nil while missing.
    func sinkOutput() -> SinkOutput? {
        switch attachment {
        case .tap(let tap): SinkOutput(id: id, name: currentName, descriptors: tap.fds, counters: counters)
        case .port(let port): SinkOutput(id: id, name: currentName, descriptor: port.descriptor, counters: counters)
        case .missing: nil
        }
    }
}
