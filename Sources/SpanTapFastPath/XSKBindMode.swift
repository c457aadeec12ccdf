import CLibXDP

/// Whether an AF_XDP socket shares its UMEM with the NIC (zero-copy) or the kernel copies frames
/// between skb/xdp_buff and the UMEM (copy). Zero-copy needs driver support (`ndo_xsk_wakeup`);
/// veth and generic XDP are always copy.
///
/// Sockets that join a shared UMEM inherit the mode of the UMEM's first socket (the kernel
/// rejects mode flags on an `XDP_SHARED_UMEM` bind), so the mode is chosen per cross-connect.
public enum XSKBindMode: String, Sendable, CustomStringConvertible {
    case zeroCopy = "zero-copy"
    case copy

    public var description: String { rawValue }

    /// `sockaddr_xdp.sxdp_flags` for the UMEM's first socket: force the mode (so a failed
    /// zero-copy bind is an error we can fall back from, not a silent copy) and ask for
    /// need_wakeup so an idle loop sleeps in poll() instead of spinning.
    var bindFlags: UInt16 {
        switch self {
        case .zeroCopy: UInt16(XDP_ZEROCOPY | XDP_USE_NEED_WAKEUP)
        case .copy: UInt16(XDP_COPY | XDP_USE_NEED_WAKEUP)
        }
    }
}
