import CSpanTapSys
import Glibc
import Synchronization
import SystemPackage

/// An open TAP device: the file descriptor that frames are written to, and its interface name.
///
/// TUN/TAP devices can only be created through the TUNSETIFF ioctl on /dev/net/tun: the kernel
/// answers an rtnetlink RTM_NEWLINK of kind "tun" with "tun/tap creation via rtnetlink is not
/// supported". So creation happens here, and everything after it (address, MTU, up, delete)
/// goes through rtnetlink like any other link (see `LinkControl`).
///
/// If a persistent TAP with this name already exists and nobody holds it, TUNSETIFF attaches to
/// it instead of creating a new one; that is how a persistent output survives a restart.
///
/// The fd is non-blocking: a slow reader must never stall the writer (frames are discardable).
public final class TapDevice: Sendable {
    /// The name the kernel gave the device.
    public let name: String
    /// Valid until `close()`.
    public let fd: FileDescriptor
    private let isOpen = Atomic(true)

    public init(name: String) throws {
        try InterfaceName.validate(name, operation: "create TAP")
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open("/dev/net/tun", .readWrite, options: [.nonBlocking, .closeOnExec])
        } catch let errno as Errno {
            throw LinkError(
                operation: "create TAP", device: name, errno: errno,
                message: "cannot open /dev/net/tun: \(errno) (is the tun module loaded?)")
        }
        // In/out buffer of IFNAMSIZ bytes: the name we ask for, then the name we got.
        var buffer = [CChar](repeating: 0, count: Int(IFNAMSIZ))
        for (offset, byte) in name.utf8.enumerated() { buffer[offset] = CChar(bitPattern: byte) }
        guard spantap_tun_set_tap(fd.rawValue, &buffer) == 0 else {
            let errno = Errno(rawValue: Glibc.errno)
            try? fd.close()
            throw LinkError(operation: "create TAP", device: name, errno: errno, message: Self.explain(errno))
        }
        self.name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        self.fd = fd
    }

    deinit {
        close()
    }

    /// Persistent: the device outlives this fd (and this process). Not persistent: the kernel
    /// deletes the device as soon as the last fd on it is closed.
    public func setPersistent(_ persistent: Bool) throws {
        guard spantap_tun_set_persist(fd.rawValue, persistent ? 1 : 0) == 0 else {
            throw LinkError(
                operation: persistent ? "make TAP persistent" : "make TAP non-persistent",
                device: name, errno: Errno(rawValue: Glibc.errno))
        }
    }

    /// Closes the fd; later calls do nothing. Does not throw: Linux releases the descriptor
    /// even when close(2) reports an error, so there is nothing a caller could retry.
    public func close() {
        guard isOpen.exchange(false, ordering: .acquiringAndReleasing) else { return }
        try? fd.close()
    }

    /// TUNSETIFF's errnos are terse; say what they mean for an existing name.
    private static func explain(_ errno: Errno) -> String {
        switch errno {
        case .invalidArgument:
            "a device with this name exists and is not a single-queue TAP (a TUN, a multi-queue TAP, or another kind of link)"
        case .resourceBusy:
            "a TAP with this name exists and is already attached to another file descriptor (another process holds it)"
        case .notPermitted:
            "creating or attaching a TAP needs CAP_NET_ADMIN (or the TAP's owner/group)"
        default:
            "TUNSETIFF failed: \(errno)"
        }
    }
}
