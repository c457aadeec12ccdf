import SystemPackage

/// A TAP device set up as a mirror output: configured, silent, up, and verified.
///
/// Frames written to `fd` appear on the interface `name` as received frames, where tcpdump
/// and any other capture tool read them.
public final class TapOutput: Sendable {
    public let name: String
    public let ifindex: Int32
    /// The link as read back right after set-up.
    public let info: LinkInfo
    public let persistent: Bool
    private let device: TapDevice
    private let control: LinkControl

    /// Non-blocking; write one whole Ethernet frame per write(2).
    public var fd: FileDescriptor { device.fd }
    /// One per queue (`TapConfiguration.queues`), each non-blocking like `fd`, which is the first.
    public var fds: [FileDescriptor] { device.fds }

    private init(device: TapDevice, info: LinkInfo, persistent: Bool, control: LinkControl) {
        self.device = device
        self.name = device.name
        self.ifindex = info.ifindex
        self.info = info
        self.persistent = persistent
        self.control = control
    }

    /// Creates (or, for a leftover persistent TAP of that name, re-attaches to) the TAP `name`,
    /// configures it, switches off everything that would make the kernel send frames of its own
    /// (ARP, IPv6), brings it up and checks the result.
    ///
    /// On failure nothing new is left behind; a persistent TAP that existed before is kept.
    public static func create(
        name: String, configuration: TapConfiguration, control: LinkControl
    ) throws -> TapOutput {
        try InterfaceName.validate(name, operation: "create TAP")
        let existedBefore = try control.link(named: name) != nil
        let device = try TapDevice(name: name, queues: configuration.queues)
        do {
            // Also clears persistence on a leftover persistent TAP we now own non-persistently.
            try device.setPersistent(configuration.persistent)
            try control.configure(
                device.name,
                LinkSettings(
                    mtu: configuration.mtu, address: configuration.address, alias: configuration.alias,
                    txQueueLength: configuration.txQueueLength, up: true, noARP: true,
                    ipv6AddressGenerationOff: true))
            guard let info = try control.link(named: device.name) else {
                throw LinkError(
                    operation: "verify TAP", device: device.name, errno: .operationNotSupportedByDevice,
                    message: "the device vanished right after it was configured")
            }
            try verify(info, against: configuration)
            return TapOutput(device: device, info: info, persistent: configuration.persistent, control: control)
        } catch {
            if !existedBefore {
                try? device.setPersistent(false)  // so closing the fd deletes it
            }
            device.close()
            throw error
        }
    }

    /// Closes the fd and, unless the output is persistent, deletes the device.
    ///
    /// Closing alone already makes the kernel delete a non-persistent TAP; the explicit delete
    /// covers another process still holding a descriptor on it. A device that is already gone
    /// is not an error.
    public func remove() throws {
        device.close()
        guard !persistent else { return }
        do {
            try control.delete(index: ifindex)
        } catch let error as LinkError where error.errno == .operationNotSupportedByDevice {
            // Already gone, as expected after the close.
        }
    }

    /// The kernel may clamp or refuse silently in a few corner cases (e.g. an MTU outside the
    /// driver's range is an error, but a concurrent change by someone else is not); check what
    /// actually took effect before frames are written.
    private static func verify(_ info: LinkInfo, against configuration: TapConfiguration) throws {
        func mismatch(_ what: String) -> LinkError {
            LinkError(operation: "verify TAP", device: info.name, errno: .ioError, message: what)
        }
        if info.mtu != configuration.mtu {
            throw mismatch("MTU reads back as \(info.mtu), expected \(configuration.mtu)")
        }
        if !info.isUp {
            throw mismatch("link is not up after bringing it up")
        }
        if info.address != configuration.address {
            throw mismatch(
                "address reads back as \(info.address?.description ?? "none"), expected \(configuration.address)")
        }
    }
}
