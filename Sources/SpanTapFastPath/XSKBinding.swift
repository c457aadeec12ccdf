import CLibXDP
import SpanTapSystem
import Synchronization
import SystemPackage

/// One AF_XDP socket on (interface, RX queue), bound to a cross-connect's shared UMEM, with its
/// four rings. Created through libxdp (`xsk_socket__create_shared`), which also loads the
/// default redirect program (`xsk_def_prog`, via the libxdp dispatcher) on the interface the
/// first time and adds this socket to its `xsks_map` at index `queue`.
///
/// Ring ownership (as in the kernel's xsk_queue.h and xdp-tools' xsk code):
/// - fill (`xsk_ring_prod`): we produce frame addresses, the kernel consumes them for RX.
/// - RX (`xsk_ring_cons`): the kernel produces received descriptors, we consume.
/// - TX (`xsk_ring_prod`): we produce descriptors to send, the kernel consumes.
/// - completion (`xsk_ring_cons`): the kernel produces addresses of sent frames, we consume.
/// Each ring has one producer index and one consumer index; the side named above owns the
/// producer, the other side the consumer. Only the cross-connect's forwarding thread touches the
/// rings; other threads read `counters` and `kernelStatistics()` only.
///
/// The ring structs are heap-allocated so their addresses stay fixed: libxdp keeps pointers to
/// the fill/completion structs inside its per-(ifindex, queue) context.
// @unchecked: rings touched by the loop thread only; other threads' kernelStatistics() takes the lock.
final class XSKBinding: @unchecked Sendable {
    let interface: String
    let ifindex: UInt32
    let queue: UInt32
    /// The resolved attach mode (never `.auto`).
    let mode: XDPMode
    let bindMode: XSKBindMode
    let counters = BindingCounters()

    /// `struct xsk_socket *`, nil once closed. Locked so `close()` cannot delete the socket (and
    /// free its fd number for reuse) while a status reader is in getsockopt on it.
    private let socket: Mutex<OpaquePointer?>
    let fd: Int32
    let rx: UnsafeMutablePointer<xsk_ring_cons>
    let tx: UnsafeMutablePointer<xsk_ring_prod>
    let fill: UnsafeMutablePointer<xsk_ring_prod>
    let comp: UnsafeMutablePointer<xsk_ring_cons>
    /// false when fill/comp are the UMEM's own structs (the UMEM frees them).
    private let ownsFillComp: Bool

    /// - Parameters:
    ///   - umem: the cross-connect's shared UMEM. The first binding created on it binds with
    ///     `bindMode`'s flags; later ones bind with `XDP_SHARED_UMEM` and inherit its mode.
    init(interface: InterfaceInfo, queue: UInt32, umem: UMEM, mode: XDPMode, bindMode: XSKBindMode,
         ringSize: UInt32) throws {
        precondition(mode != .auto, "resolve auto before binding")
        self.interface = interface.name
        self.ifindex = interface.ifindex
        self.queue = queue
        self.mode = mode
        self.bindMode = bindMode

        let rx = UnsafeMutablePointer<xsk_ring_cons>.allocate(capacity: 1)
        rx.initialize(to: xsk_ring_cons())
        let tx = UnsafeMutablePointer<xsk_ring_prod>.allocate(capacity: 1)
        tx.initialize(to: xsk_ring_prod())
        let fill: UnsafeMutablePointer<xsk_ring_prod>
        let comp: UnsafeMutablePointer<xsk_ring_cons>
        let ownsFillComp: Bool
        if let rings = umem.takeInitialRings() {
            fill = rings.fill; comp = rings.comp; ownsFillComp = false
        } else {
            fill = .allocate(capacity: 1); fill.initialize(to: xsk_ring_prod())
            comp = .allocate(capacity: 1); comp.initialize(to: xsk_ring_cons())
            ownsFillComp = true
        }
        self.rx = rx; self.tx = tx; self.fill = fill; self.comp = comp
        self.ownsFillComp = ownsFillComp

        var config = xsk_socket_config()
        config.rx_size = ringSize
        config.tx_size = ringSize
        config.libxdp_flags = 0          // let libxdp load/reuse xsk_def_prog
        config.xdp_flags = mode.xdpFlags
        config.bind_flags = bindMode.bindFlags
        var xsk: OpaquePointer?
        let rc = interface.name.withCString { name in
            xsk_socket__create_shared(&xsk, name, queue, umem.handle, rx, tx, fill, comp, &config)
        }
        guard rc == 0, let xsk else {
            rx.deallocate(); tx.deallocate()
            if ownsFillComp { fill.deallocate(); comp.deallocate() }
            throw FastPathError.system(
                operation: "xsk_socket__create_shared(queue \(queue), \(mode), \(bindMode))",
                interface: interface.name, errno: Errno(rawValue: -rc))
        }
        fd = xsk_socket__fd(xsk)
        // The pointer is libxdp's, not shared with anything else here: handing it to the lock is safe.
        nonisolated(unsafe) let handle: OpaquePointer? = xsk
        socket = Mutex(handle)
    }

    /// Deletes the socket: removes it from the program's xsks_map and unmaps RX/TX rings. Does
    /// not detach the XDP program (libxdp never does); `XDPProgramInspector` does that once the
    /// interface's last socket is gone. Idempotent; call only when the loop has stopped.
    func close() {
        let closed: Bool = socket.withLock { socket in
            guard let xsk = socket else { return false }
            xsk_socket__delete(xsk)
            socket = nil
            return true
        }
        guard closed else { return }
        rx.deallocate(); tx.deallocate()
        if ownsFillComp { fill.deallocate(); comp.deallocate() }
    }

    /// The kernel's own drop counters for this socket (`XDP_STATISTICS`): frames it could not
    /// deliver because our RX ring was full or the fill ring empty, invalid descriptors, ...
    /// Safe from any thread, also while `close()` runs (nil once closed).
    func kernelStatistics() -> XDPStatistics? {
        var stats = xdp_statistics()
        let read: Bool = socket.withLock { socket in
            guard socket != nil else { return false }
            return (try? FileDescriptor(rawValue: fd).readSocketOption(level: .xdp, option: XDP_STATISTICS,
                                                                        into: &stats)) != nil
        }
        return read ? XDPStatistics(stats) : nil
    }

    deinit { close() }
}

extension XDPStatistics {
    /// The kernel struct, field by field in its order (`XDPStatistics.fields`).
    init(_ kernel: xdp_statistics) {
        self.init()
        let source: [KeyPath<xdp_statistics, UInt64>] = [\.rx_dropped, \.rx_invalid_descs, \.tx_invalid_descs, \.rx_ring_full,
                                                        \.rx_fill_ring_empty_descs, \.tx_ring_empty_descs]
        for (field, value) in zip(Self.fields, source) { self[keyPath: field] = kernel[keyPath: value] }
    }
}
