import Glibc
import SystemPackage

/// Memory mapped with mmap(2), unmapped when the value goes away: the one owner of a mapping's
/// lifetime (a ring's memfd, a UMEM's frame area, a bench's read-only view of a ring).
///
/// Noncopyable, so there is exactly one owner and one munmap. `base` may be handed to code that
/// reads and writes the bytes (with whatever protocol the bytes follow); it is valid while the
/// region lives.
public struct MappedRegion: ~Copyable {
    public enum Access: Sendable {
        case readOnly, readWrite

        var protection: Int32 { self == .readOnly ? PROT_READ : PROT_READ | PROT_WRITE }
    }

    public let base: UnsafeMutableRawPointer
    public let byteCount: Int

    /// Maps `byteCount` bytes of `file` from offset 0, shared with every other mapping of it.
    public init(sharing file: FileDescriptor, byteCount: Int, access: Access = .readWrite) throws(Errno) {
        try self.init(byteCount: byteCount, protection: access.protection, flags: MAP_SHARED, fd: file.rawValue)
    }

    /// `byteCount` bytes of private zeroed memory (page-aligned), e.g. an AF_XDP UMEM.
    public init(anonymous byteCount: Int) throws(Errno) {
        try self.init(byteCount: byteCount, protection: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS,
                      fd: -1)
    }

    private init(byteCount: Int, protection: Int32, flags: Int32, fd: Int32) throws(Errno) {
        guard let base = mmap(nil, byteCount, protection, flags, fd, 0), base != MAP_FAILED else { throw .last }
        self.base = base
        self.byteCount = byteCount
    }

    /// Gives the mapping up without unmapping it: for memory the kernel may still write (a UMEM
    /// whose sockets could not be deleted), where a leak is safer than a reuse.
    public consuming func abandon() {
        discard self
    }

    deinit { munmap(base, byteCount) }
}

// @unchecked: address and size never change; the bytes' own protocol says who may touch them.
extension MappedRegion: @unchecked Sendable {}
