import CLibXDP

/// How the XDP redirect program is attached to an interface (`dataplane { xdp-mode ...; }`).
///
/// - `native`: the driver runs XDP (`XDP_FLAGS_DRV_MODE`); fastest, needs driver support.
/// - `generic`: the kernel runs XDP on the skb after the driver (`XDP_FLAGS_SKB_MODE`); works on
///   every device, always in copy mode.
/// - `auto`: try native, fall back to generic and log why (a driver without XDP support, ...).
public enum XDPMode: String, Sendable, CaseIterable, CustomStringConvertible {
    case native
    case generic
    case auto

    public var description: String { rawValue }

    /// The concrete modes to try, in order. `auto` expands to native then generic.
    var attempts: [XDPMode] {
        switch self {
        case .native: [.native]
        case .generic: [.generic]
        case .auto: [.native, .generic]
        }
    }

    /// `xsk_socket_config.xdp_flags`: libxdp turns these into its attach mode when it loads the
    /// default xsk program. Only meaningful for a resolved (non-auto) mode.
    var xdpFlags: UInt32 {
        switch self {
        case .native, .auto: UInt32(XDP_FLAGS_DRV_MODE)
        case .generic: UInt32(XDP_FLAGS_SKB_MODE)
        }
    }
}
