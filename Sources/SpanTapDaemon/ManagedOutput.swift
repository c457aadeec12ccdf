import SpanTapConfig
import SpanTapLink
import SpanTapSink

/// One mirror output of the running config: the interface an `output { interface X; }` (or a
/// `vxlan`, `erspan` or `gre` stanza) names, what spantapd has attached to it, and counters that outlive
/// re-creations of its device.
final class ManagedOutput {
    enum Attachment {
        /// A TAP spantapd created or re-attached; deleted at shutdown unless persistent.
        case tap(TapOutput)
        /// An existing interface that is not a TAP; frames leave on its wire.
        case port(PortOutput)
        /// A VXLAN device spantapd created; frames leave encapsulated towards its remote.
        case vxlan(VXLANOutput)
        /// An ERSPAN or GRE session spantapd sends itself; no device.
        case remote(GRESocket, TunnelSession)
        /// A port output whose interface is gone; records for it count as no_binding until it returns.
        case missing
    }

    /// The sink's output id: stable for the output's whole life, so producers never need updating.
    let id: UInt32
    /// The name in the config (the interface may since have been renamed: see `currentName`).
    let configuredName: String
    var currentName: String
    var settings: OutputSettings
    /// `ifalias` of a TAP made for it: "spantap: <instances>", so `ip link` shows who owns it.
    let alias: String
    var attachment: Attachment
    let counters: OutputCounters
    /// Times the TAP or VXLAN device was re-created after it vanished.
    var recreated: UInt64 = 0
    /// Kernel transmit errors of VXLAN devices this output has since replaced (a new device
    /// starts from zero). A device deleted behind spantapd's back takes its count with it.
    var retiredTransmitErrors = TransmitErrors()

    init(id: UInt32, name: String, alias: String, settings: OutputSettings, attachment: Attachment, counters: OutputCounters) {
        self.id = id
        configuredName = name
        currentName = name
        self.alias = alias
        self.settings = settings
        self.attachment = attachment
        self.counters = counters
    }

    /// Whether the device is spantapd's own, to re-create when it vanishes.
    var ownsDevice: Bool {
        switch attachment {
        case .tap, .vxlan: true
        case .port, .remote, .missing: false
        }
    }

    /// Frames the kernel failed to send after the sink's write succeeded (VXLAN only).
    var transmitErrors: TransmitErrors {
        var errors = retiredTransmitErrors
        if case .vxlan(let device) = attachment, let current = device.transmitErrors() { errors += current }
        return errors
    }

    /// What the output delivered, given its device's transmit errors (`transmitErrors`, read once
    /// by the caller): a VXLAN device takes every write and may fail to send later, so those
    /// frames are write errors (by reason), not deliveries. Their bytes cannot be told apart and
    /// stay in.
    func delivery(_ failed: TransmitErrors) -> (packets: UInt64, bytes: UInt64, errors: UInt64) {
        let handed = counters.deliveredPackets
        return (handed - min(handed, failed.total), counters.deliveredBytes, counters.writeErrors &+ failed.total)
    }

    var ifindex: Int32 {
        switch attachment {
        case .tap(let tap): tap.ifindex
        case .port(let port): port.ifindex
        case .vxlan(let device): device.ifindex
        case .remote, .missing: 0
        }
    }

    var kind: String {
        switch attachment {
        case .tap: "tap"
        case .port: "port"
        case .vxlan: "vxlan"
        case .remote: settings.tunnel.gre?.kind ?? "gre"
        case .missing: "missing"
        }
    }

    /// What the sink writes to, or nil while missing.
    func sinkOutput() -> SinkOutput? {
        switch attachment {
        case .tap(let tap): SinkOutput(id: id, name: currentName, descriptors: tap.fds, counters: counters)
        case .port(let port): SinkOutput(id: id, name: currentName, descriptor: port.descriptor, counters: counters)
        case .vxlan(let device): SinkOutput(id: id, name: currentName, descriptor: device.port.descriptor, counters: counters)
        case .remote(let socket, let session):
            SinkOutput(id: id, name: currentName, descriptor: socket.descriptor, counters: counters, tunnel: session)
        case .missing: nil
        }
    }
}

/// What the config asks of one output; every instance sharing the output asks the same (the
/// validator sees to it), but for `persistent`, which any one of them may ask for.
struct OutputSettings: Equatable {
    /// Keep a TAP of ours at shutdown.
    var persistent = false
    /// Queues of a TAP made for it (`output { queues }`, `auto` resolved to the sink's workers).
    var queues = 1
    /// The tunnel (`vxlan`, `erspan`, `gre`); neither for a TAP or port output.
    var tunnel = MirrorOutput.Tunnel()
}

extension GRETunnel {
    /// The header the sink builds for this configuration.
    var headerKind: TunnelHeader.Kind {
        switch encapsulation {
        case .erspan(let erspan) where erspan.version == 3:
            .erspanTypeIII(sessionID: erspan.sessionID, hardwareID: erspan.hardwareID)
        case .erspan(let erspan):
            .erspanTypeII(sessionID: erspan.sessionID, index: erspan.index)
        case .gre(let key, let sequenceNumbers):
            .gre(key: key, sequenceNumbers: sequenceNumbers)
        }
    }
}
