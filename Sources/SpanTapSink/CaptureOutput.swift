import Glibc
import SpanTapCapture
import SpanTapRing
import Synchronization
import SystemPackage

/// A temporary output for one `spantap capture` client: a copy of every record its selections
/// (`Selection`s, kept by each sink worker and replaced when the rules change) name goes to the
/// client's socket (SOCK_SEQPACKET, non-blocking, one message per frame). The
/// socket's send buffer is the client's bounded queue: when it is full the copy is dropped and
/// counted here, for this client only, and the sink moves on, so a slow or stopped client never
/// delays the TAPs, the VXLAN outputs or the producers.
///
/// The capture does not own its descriptor: whoever made it keeps it open until
/// `SinkService.removeCapture` has returned.
public final class CaptureOutput: Sendable {
    /// One (output id, interface, direction) the capture copies: the routes of its instances' rules.
    public struct Selection: Hashable, Sendable {
        public var outputID: UInt32
        public var ifindex: UInt32
        public var direction: MirrorDirection

        public init(outputID: UInt32, ifindex: UInt32, direction: MirrorDirection) {
            self.outputID = outputID
            self.ifindex = ifindex
            self.direction = direction
        }
    }

    /// What the capture saw on one interface.
    public struct InterfaceCounts: Equatable, Sendable {
        /// Frames the sink selected for this capture (sent + dropped).
        public var frames: UInt64 = 0
        /// Of those, frames dropped because the client's queue was full.
        public var drops: UInt64 = 0
    }

    public let id: Int
    public let descriptor: FileDescriptor
    private let counts = Mutex<[UInt32: InterfaceCounts]>([:])
    /// Set once a send finds the client gone; nothing more is sent.
    private let gone = Atomic<Bool>(false)

    public init(id: Int, descriptor: FileDescriptor) {
        self.id = id
        self.descriptor = descriptor
    }

    /// Per ifindex, what the capture saw so far.
    public var interfaceCounts: [UInt32: InterfaceCounts] { counts.withLock { $0 } }

    /// The client closed its end (a send failed with EPIPE or ECONNRESET).
    public var clientGone: Bool { gone.load(ordering: .relaxed) }

    /// Queues an interface announcement (`CaptureMessage.announcementIfindex`) with `interface`'s
    /// bytes; never waits. False if the client's queue had no room or the client is gone: then
    /// it has not heard of the interface, and its frames must not be selected for it.
    public func announce(_ interface: [UInt8]) -> Bool {
        guard !gone.load(ordering: .relaxed) else { return false }
        var message = [UInt8](repeating: 0, count: CaptureMessage.headerSize) + interface
        message.withUnsafeMutableBytes {
            CaptureMessage(ifindex: CaptureMessage.announcementIfindex, direction: 0, originalLength: 0,
                           capturedLength: UInt32(interface.count), timestampNanoseconds: 0).encode(into: $0.baseAddress!)
        }
        let sent = message.withUnsafeBytes { send(descriptor.rawValue, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
        return sent == message.count
    }

    /// Sends one copy of `record`; never waits.
    func offer(_ record: RingRecord) {
        guard !gone.load(ordering: .relaxed) else { return }
        let sent = withUnsafeTemporaryAllocation(byteCount: CaptureMessage.headerSize, alignment: 8) { header in
            CaptureMessage(ifindex: record.ifindex, direction: record.direction.rawValue,
                           originalLength: UInt32(record.originalLength), capturedLength: UInt32(record.frame.count),
                           timestampNanoseconds: record.timestampNanoseconds).encode(into: header.baseAddress!)
            var parts = (iovec(iov_base: header.baseAddress, iov_len: header.count),
                         iovec(iov_base: UnsafeMutableRawPointer(mutating: record.frame.baseAddress), iov_len: record.frame.count))
            return withUnsafeMutableBytes(of: &parts) { vector in
                var message = msghdr()
                message.msg_iov = vector.baseAddress!.assumingMemoryBound(to: iovec.self)
                message.msg_iovlen = 2
                return sendmsg(descriptor.rawValue, &message, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            }
        }
        let failure = sent < 0 ? errno : 0
        if failure == EPIPE || failure == ECONNRESET || failure == ENOTCONN {
            gone.store(true, ordering: .relaxed)
            return
        }
        counts.withLock { counts in
            counts[record.ifindex, default: InterfaceCounts()].frames += 1
            if sent < 0 { counts[record.ifindex, default: InterfaceCounts()].drops += 1 }
        }
    }
}
