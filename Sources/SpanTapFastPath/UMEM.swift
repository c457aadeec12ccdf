import CLibXDP
import SpanTapSystem
import SystemPackage

/// One UMEM: a page-aligned anonymous mapping split into fixed-size frames, registered with the
/// kernel through libxdp (`xsk_umem__create`).
///
/// A cross-connect's sockets all share one UMEM (`XDP_SHARED_UMEM`), so a frame received on one
/// side can be put on the other side's TX ring by address, without copying the bytes.
///
/// libxdp quirk this type exists to contain: `xsk_umem__create` creates the fill/completion ring
/// pair of the UMEM's own socket and remembers the two ring structs ("fill_save"). The first
/// socket created on the UMEM must be given exactly those structs: if its creation fails with
/// different structs, libxdp unmaps the rings but keeps pointing at them, and the next attempt
/// reads freed mappings. So the first binding borrows them via `takeInitialRings()`.
final class UMEM {
    let frameSize: UInt32
    let frameCount: UInt32
    /// Base of the frame area; a descriptor's `addr` is an offset from here.
    let area: UnsafeMutableRawPointer
    let areaSize: Int
    /// The frame area's mapping: nil once freed, or given up when the kernel may still write it.
    private var mapping: MappedRegion?
    /// `struct xsk_umem *` (opaque in Swift).
    private(set) var handle: OpaquePointer?

    private let initialFill: UnsafeMutablePointer<xsk_ring_prod>
    private let initialComp: UnsafeMutablePointer<xsk_ring_cons>
    private var initialRingsTaken = false

    /// - Parameters:
    ///   - fillSize/compSize: ring sizes used for every (interface, queue) that joins this UMEM
    ///     (libxdp reuses the UMEM's config for the rings of later contexts).
    init(frameCount: UInt32, frameSize: UInt32, fillSize: UInt32, compSize: UInt32, interface: String) throws {
        self.frameSize = frameSize
        self.frameCount = frameCount
        self.areaSize = Int(frameCount) * Int(frameSize)
        let mapping: MappedRegion
        do {
            mapping = try MappedRegion(anonymous: areaSize)
        } catch {
            throw FastPathError.system(operation: "mmap UMEM", interface: interface, errno: error)
        }
        self.area = mapping.base
        initialFill = .allocate(capacity: 1)
        initialFill.initialize(to: xsk_ring_prod())
        initialComp = .allocate(capacity: 1)
        initialComp.initialize(to: xsk_ring_cons())

        var config = xsk_umem_config(
            fill_size: fillSize, comp_size: compSize, frame_size: frameSize,
            frame_headroom: 0, flags: 0)
        var umem: OpaquePointer?
        let rc = xsk_umem__create(&umem, area, UInt64(areaSize), initialFill, initialComp, &config)
        guard rc == 0, let umem else {
            initialFill.deallocate()
            initialComp.deallocate()
            throw FastPathError.system(operation: "xsk_umem__create", interface: interface, errno: Errno(rawValue: -rc))
        }
        handle = umem
        self.mapping = consume mapping
    }

    /// The ring structs `xsk_umem__create` filled in, for the UMEM's first socket only.
    func takeInitialRings() -> (fill: UnsafeMutablePointer<xsk_ring_prod>, comp: UnsafeMutablePointer<xsk_ring_cons>)? {
        guard !initialRingsTaken else { return nil }
        initialRingsTaken = true
        return (initialFill, initialComp)
    }

    /// Deletes the UMEM; every socket on it must be deleted first (libxdp returns -EBUSY
    /// otherwise, and we keep the mapping rather than free memory the kernel may still write).
    func destroy() {
        guard let umem = handle else { return }
        let rc = xsk_umem__delete(umem)
        guard rc == 0 else { return }
        handle = nil
        mapping = nil
        initialFill.deallocate()
        initialComp.deallocate()
    }

    deinit {
        destroy()
        // Not deleted (a socket still on it): the kernel may write the frames, so never unmap them.
        mapping.take()?.abandon()
    }
}
