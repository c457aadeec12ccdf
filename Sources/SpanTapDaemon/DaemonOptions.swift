/// How spantapd runs, from its command line.
public struct DaemonOptions: Sendable {
    public var configPath: String
    public var controlSocketPath: String
    /// Slots per ring; each AF_XDP binding and each external producer gets one ring.
    public var ringSlots: Int
    /// Bytes per slot, record header included: frames up to `ringSlotSize - 24` bytes are
    /// mirrored whole, longer ones need `maximum-packet-length` or are counted as no_frame.
    public var ringSlotSize: Int

    public static let defaultConfigPath = "/etc/spantap/spantap.conf"
    public static let defaultControlSocketPath = "/run/spantap/spantapd.sock"

    public init(configPath: String = defaultConfigPath, controlSocketPath: String = defaultControlSocketPath,
                ringSlots: Int = 4096, ringSlotSize: Int = 2048) {
        self.configPath = configPath
        self.controlSocketPath = controlSocketPath
        self.ringSlots = ringSlots
        self.ringSlotSize = ringSlotSize
    }
}
