/// `output { interface NAME; erspan { remote A; local A; session-id N; version 2|3; index N;
/// hardware-id N; } }` or `output { interface NAME; gre { remote A; local A; key N; sequence; } }`:
/// the mirror goes to a remote collector in GRE, built by spantapd itself (no kernel device:
/// NAME only labels the output in status and metrics) and sent through a raw GRE socket.
///
/// iproute2's words where it has them (`remote`, `local`, `key`); `session-id`, `index` and
/// `hardware-id` are the ERSPAN fields iproute2 calls `erspan`, `erspan_hwid` (and the session,
/// which it sets through the key).
public struct GRETunnel: Equatable, Sendable {
    public enum Encapsulation: Equatable, Sendable {
        /// ERSPAN Type II (`version 2`, GRE protocol 0x88BE) or Type III (`version 3`, 0x22EB).
        case erspan(ERSPAN)
        /// Ethernet in GRE (transparent Ethernet bridging, 0x6558).
        case gre(key: UInt32?, sequenceNumbers: Bool)
    }

    public struct ERSPAN: Equatable, Sendable {
        /// 2 (Type II) or 3 (Type III).
        public var version: UInt8 = 2
        /// 10 bits: the collector tells sessions apart by it.
        public var sessionID: UInt16 = 0
        /// Type II only: 20 bits the collector may use for the source port.
        public var index: UInt32 = 0
        /// Type III only: 6 bits naming the sending engine.
        public var hardwareID: UInt8 = 0

        public static let versions: ClosedRange<UInt32> = 2...3
        public static let sessionIDRange: ClosedRange<UInt32> = 0...1023
        public static let indexRange: ClosedRange<UInt32> = 0...0xF_FFFF
        public static let hardwareIDRange: ClosedRange<UInt32> = 0...63

        public init(version: UInt8 = 2, sessionID: UInt16 = 0, index: UInt32 = 0, hardwareID: UInt8 = 0) {
            self.version = version
            self.sessionID = sessionID
            self.index = index
            self.hardwareID = hardwareID
        }
    }

    /// Unicast address of the collector, canonical text.
    public var remote: String
    /// Source address of the outer packets; nil lets the kernel's route to `remote` choose.
    public var local: String?
    public var encapsulation: Encapsulation

    public init(remote: String, local: String? = nil, encapsulation: Encapsulation) {
        self.remote = remote
        self.local = local
        self.encapsulation = encapsulation
    }

    public var isIPv6: Bool { remote.contains(":") }

    /// "erspan" or "gre": the output's kind in status and metrics.
    public var kind: String {
        if case .erspan = encapsulation { "erspan" } else { "gre" }
    }
}
