import CSpanTapSys
import Glibc
import SpanTapSystem
import Synchronization
import SystemPackage

/// An open TAP device: the file descriptors that frames are written to (one per queue), and its
/// interface name.
///
/// TUN/TAP devices can only be created through the TUNSETIFF ioctl on /dev/net/tun: the kernel
/// answers an rtnetlink RTM_NEWLINK of kind "tun" with "tun/tap creation via rtnetlink is not
/// supported". So creation happens here, and everything after it (address, MTU, up, delete)
/// goes through rtnetlink like any other link (see `LinkControl`).
///
/// If a persistent TAP with this name already exists and nobody holds it, TUNSETIFF attaches to
/// it instead of creating a new one; that is how a persistent output survives a restart.
///
/// With more than one queue the TAP is made with IFF_MULTI_QUEUE and every queue has its own fd,
/// so several threads can write at once without sharing a queue (how vhost-net scales). A TAP's
/// queue mode is fixed when it is created: one made single-queue cannot be re-attached with
/// queues, nor the other way round.
///
/// The fds are non-blocking: a slow reader must never stall the writer (frames are discardable).
public final class TapDevice: Sendable {
    /// The name the kernel gave the device.
    public let name: String
    /// One per queue; valid until `close()`.
    public let fds: [FileDescriptor]
    private let isOpen = Atomic(true)

    /// The first queue's fd (the only one of a single-queue TAP).
    public var fd: FileDescriptor { fds[0] }

    public init(name: String, queues: Int = 1) throws {
        try InterfaceName.validate(name, operation: "create TAP")
        guard (1...256).contains(queues) else {
            throw LinkError(operation: "create TAP", device: name, errno: .invalidArgument,
                            message: "a TAP has 1 to 256 queues, not \(queues)")
        }
        var fds: [FileDescriptor] = []
        var granted = name
        do {
            for _ in 0..<queues {
                // Queues after the first attach to the device by the name the kernel gave it.
                let fd = try Self.open(granted, multiQueue: queues > 1, askedFor: name)
                fds.append(fd.fd)
                granted = fd.name
            }
        } catch {
            for fd in fds { try? fd.close() }
            throw error
        }
        self.name = granted
        self.fds = fds
    }

    private static func open(_ name: String, multiQueue: Bool, askedFor: String) throws -> (fd: FileDescriptor, name: String) {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open("/dev/net/tun", .readWrite, options: [.nonBlocking, .closeOnExec])
        } catch let errno as Errno {
            throw LinkError(
                operation: "create TAP", device: askedFor, errno: errno,
                message: "cannot open /dev/net/tun: \(errno) (is the tun module loaded?)")
        }
        // In/out buffer of IFNAMSIZ bytes: the name we ask for, then the name we got.
        var buffer = [CChar](repeating: 0, count: Int(IFNAMSIZ))
        for (offset, byte) in name.utf8.enumerated() { buffer[offset] = CChar(bitPattern: byte) }
        guard spantap_tun_set_tap(fd.rawValue, &buffer, multiQueue ? 1 : 0) == 0 else {
            let errno = Errno.last
            try? fd.close()
            throw LinkError(operation: "create TAP", device: askedFor, errno: errno, message: explain(errno, multiQueue: multiQueue))
        }
        return (fd, String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
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
                device: name, errno: Errno.last)
        }
    }

    /// Closes the fds; later calls do nothing. Does not throw: Linux releases the descriptor
    /// even when close(2) reports an error, so there is nothing a caller could retry.
    public func close() {
        guard isOpen.exchange(false, ordering: .acquiringAndReleasing) else { return }
        for fd in fds { try? fd.close() }
    }

    /// TUNSETIFF's errnos are terse; say what they mean for an existing name.
    private static func explain(_ errno: Errno, multiQueue: Bool) -> String {
        switch errno {
        case .invalidArgument where multiQueue:
            "a device with this name exists and is not a multi-queue TAP (a single-queue TAP, a TUN, or another kind of link)"
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
