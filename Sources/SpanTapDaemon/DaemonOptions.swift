import SpanTapControl

/// How spantapd runs, from its command line.
public struct DaemonOptions: Sendable {
    public var configPath: String
    public var controlSocketPath: String
    /// Slots per ring; each AF_XDP binding and each external producer gets one ring. Also the most
    /// slots an external producer may ask for.
    public var ringSlots: Int
    /// Bytes per slot, record header included: frames up to `ringSlotSize - 32` bytes are
    /// mirrored whole, longer ones need `maximum-packet-length` or are counted as no_frame. Also the
    /// largest slot an external producer may ask for.
    public var ringSlotSize: Int
    /// Most external producers attached at once.
    public var maximumProducers: Int
    /// Most ring memory (sum of mapping sizes) all external producers may hold at once.
    public var maximumRingMemory: ByteCount
    /// Most `spantap capture` clients at once.
    public var maximumCaptures: Int
    /// Control connections and their idle timeout.
    public var controlLimits: ControlLimits

    public static let defaultConfigPath = "/etc/spantap/spantap.conf"
    public static let defaultControlSocketPath = "/run/spantap/spantapd.sock"

    public init(configPath: String = defaultConfigPath, controlSocketPath: String = defaultControlSocketPath,
                ringSlots: Int = 4096, ringSlotSize: Int = 2048, maximumProducers: Int = 64,
                maximumRingMemory: ByteCount = ByteCount(bytes: 1 << 30), maximumCaptures: Int = 4, controlLimits: ControlLimits = ControlLimits()) {
        self.configPath = configPath
        self.controlSocketPath = controlSocketPath
        self.ringSlots = ringSlots
        self.ringSlotSize = ringSlotSize
        self.maximumProducers = maximumProducers
        self.maximumRingMemory = maximumRingMemory
        self.maximumCaptures = maximumCaptures
        self.controlLimits = controlLimits
    }
}
