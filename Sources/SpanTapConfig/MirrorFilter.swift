import SpanTapFilter
import SpanTapRing

/// A selection's filter: the tcpdump expression (as written, or translated from a Junos firewall
/// filter) and the program libpcap compiled from it, which every producer of the selection runs
/// on each frame before sampling.
public struct MirrorFilter: Equatable, Sendable {
    public var expression: String
    public var program: FilterProgram

    public init(expression: String, program: FilterProgram) {
        self.expression = expression
        self.program = program
    }
}

/// An interface (or unit) and direction that Junos firewall filters bound with `interfaces IF unit
/// N family inet|inet6 filter input|output NAME` mirror to an instance: the frames of which the
/// first matching term names this instance. Several instances may hold selections of the same
/// interface and direction; their filters are disjoint by construction (first match decides).
public struct FirewallSelection: Equatable, Sendable {
    /// `fwd-a` (unit 0: the whole port) or `fwd-a.100`.
    public var interface: String
    public var direction: SelectionDirection
    /// The bound filters, as `inet NAME` / `inet6 NAME`.
    public var firewallFilters: [String]
    /// The terms translated to one expression (and the instance's own `input filter`, if any).
    public var filter: MirrorFilter

    public init(interface: String, direction: SelectionDirection, firewallFilters: [String], filter: MirrorFilter) {
        self.interface = interface
        self.direction = direction
        self.firewallFilters = firewallFilters
        self.filter = filter
    }
}

public enum SelectionDirection: String, Equatable, Hashable, Sendable {
    case ingress, egress
}

extension MirrorInstance {
    /// Every interface (or unit) the instance mirrors in `direction`: its `ingress` or `egress`,
    /// then what firewall filters select for it.
    public func selectors(_ direction: SelectionDirection) -> [String] {
        (direction == .ingress ? ingress : egress) + firewallSelections.filter { $0.direction == direction }.map(\.interface)
    }

    /// The program a producer runs for this instance's selection of `interface` in `direction`:
    /// the firewall selection's, else the instance's `input filter`; nil: every frame.
    public func filter(for interface: String, _ direction: SelectionDirection) -> MirrorFilter? {
        firewallSelections.first { $0.interface == interface && $0.direction == direction }?.filter ?? filter
    }
}
