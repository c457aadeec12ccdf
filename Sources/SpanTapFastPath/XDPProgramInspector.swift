import CLibXDP
import Glibc
import SystemPackage

/// Looks at the XDP program attached to an interface and removes SpanTap's own (libxdp's
/// `xsk_def_prog`, directly or under the libxdp dispatcher).
///
/// Why: libxdp never detaches the xsk program (`xsk_socket__delete` only closes its fd), so we
/// detach it at stop; and a run that was killed leaves it attached, which the next start must
/// clean (design invariant 6). A program that is not ours is never touched: start fails with a
/// `FastPathError.foreignXDPProgram` naming it.
enum XDPProgramInspector {
    /// Name of libxdp's default AF_XDP redirect program (the BPF function in xsk_def_xdp_prog.o).
    static let ourProgramName = "xsk_def_prog"

    enum Attached: Equatable {
        case none
        /// Only `xsk_def_prog` (under a dispatcher or alone).
        case ours(mode: String)
        /// Anything else; the program names found.
        case foreign(programs: [String], mode: String)
    }

    static func inspect(ifindex: UInt32) -> Attached {
        guard let mp = xdp_multiprog__get_from_ifindex(Int32(ifindex)),
              libxdp_get_error(UnsafeRawPointer(mp)) == 0 else { return .none }
        defer { xdp_multiprog__close(mp) }
        let names = programNames(mp)
        let mode = modeName(xdp_multiprog__attach_mode(mp))
        if names.isEmpty { return .none }
        if names.allSatisfy({ $0 == ourProgramName }) { return .ours(mode: mode) }
        return .foreign(programs: names, mode: mode)
    }

    /// Detaches the interface's program if (and only if) it is ours. Returns what was attached.
    @discardableResult
    static func detachIfOurs(ifindex: UInt32, interface: String) throws -> Attached {
        let attached = inspect(ifindex: ifindex)
        guard case .ours = attached else { return attached }
        guard let mp = xdp_multiprog__get_from_ifindex(Int32(ifindex)),
              libxdp_get_error(UnsafeRawPointer(mp)) == 0 else { return .none }
        defer { xdp_multiprog__close(mp) }
        let rc = xdp_multiprog__detach(mp)
        guard rc == 0 else {
            throw FastPathError.system(operation: "xdp_multiprog__detach", interface: interface, errno: Errno(rawValue: -rc))
        }
        return attached
    }

    /// Names of the programs a multiprog holds: the dispatcher's component programs, or the
    /// single program for a legacy (non-dispatcher) attachment, plus any offloaded one.
    private static func programNames(_ mp: OpaquePointer) -> [String] {
        var names: [String] = []
        if xdp_multiprog__is_legacy(mp) {
            if let main = xdp_multiprog__main_prog(mp), let name = xdp_program__name(main) {
                names.append(String(cString: name))
            }
        } else {
            var prog = xdp_multiprog__next_prog(nil, mp)
            while let p = prog {
                if let name = xdp_program__name(p) { names.append(String(cString: name)) }
                prog = xdp_multiprog__next_prog(p, mp)
            }
            // A dispatcher with no component program left is still a leftover of libxdp.
            if names.isEmpty, let main = xdp_multiprog__main_prog(mp), let name = xdp_program__name(main),
               String(cString: name).hasPrefix("xdp_dispatcher") {
                names.append(ourProgramName)
            }
        }
        if let hw = xdp_multiprog__hw_prog(mp), let name = xdp_program__name(hw) {
            names.append(String(cString: name) + " (hw)")
        }
        return names
    }

    private static func modeName(_ mode: xdp_attach_mode) -> String {
        switch mode {
        case XDP_MODE_NATIVE: "native"
        case XDP_MODE_SKB: "generic"
        case XDP_MODE_HW: "hw"
        default: "unspecified"
        }
    }
}
