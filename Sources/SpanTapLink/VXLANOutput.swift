/// A VXLAN device set up as a mirror output: created, silent, up, and written through a packet
/// socket (`port`), so each mirrored frame leaves encapsulated towards the remote collector.
public final class VXLANOutput: Sendable {
    public let name: String
    public let ifindex: Int32
    public let persistent: Bool
    /// Where the sink writes: one whole Ethernet frame per write(2).
    public let port: PortOutput
    private let control: LinkControl

    private init(info: LinkInfo, persistent: Bool, port: PortOutput, control: LinkControl) {
        name = info.name
        ifindex = info.ifindex
        self.persistent = persistent
        self.port = port
        self.control = control
    }

    /// Creates the device `name`, switches off what would make the kernel send frames of its own
    /// through the tunnel (IPv6 autoconfiguration, ARP), brings it up and checks the result.
    ///
    /// A device of that name left by spantapd (persistent, or a crashed run: its alias says so)
    /// is replaced, so its settings are the ones asked for now; any other device of that name is
    /// an error. On failure nothing new is left behind.
    public static func create(name: String, configuration: VXLANConfiguration, control: LinkControl) throws -> VXLANOutput {
        if let existing = try control.link(named: name) {
            guard existing.kind == "vxlan", existing.alias?.hasPrefix("spantap:") == true else {
                throw LinkError(operation: "create VXLAN", device: name, errno: .fileExists,
                                message: "an interface of this name exists (kind \(existing.kind ?? "none")) and is not a VXLAN device of spantapd's")
            }
            try control.delete(index: existing.ifindex)
        }
        try control.createVXLAN(name, configuration)
        do {
            try control.configure(name, LinkSettings(up: true, noARP: true, ipv6AddressGenerationOff: true))
            guard let info = try control.link(named: name), info.isUp, info.mtu == configuration.mtu else {
                throw LinkError(operation: "verify VXLAN", device: name, errno: .ioError,
                                message: "the device is gone, down or has another MTU right after set-up")
            }
            return VXLANOutput(info: info, persistent: configuration.persistent, port: try PortOutput(info), control: control)
        } catch {
            try? control.delete(name)
            throw error
        }
    }

    /// Deletes the device unless the output is persistent; one already gone is not an error.
    public func remove() throws {
        guard !persistent else { return }
        do {
            try control.delete(index: ifindex)
        } catch let error as LinkError where error.errno == .operationNotSupportedByDevice {
            // Deleted behind our back, which is what brought us here.
        }
    }

    public func transmitErrors() -> TransmitErrors? {
        try? control.transmitErrors(index: ifindex)
    }
}
