import Atomics
import Glibc
import SpanTapRing
import SpanTapSystem
import SystemPackage

/// What a remote (ERSPAN or GRE) output shares between the sink workers writing to it: the
/// header it puts on every frame, its GRE sequence numbers, the largest frame the path takes,
/// and why frames did not go out.
///
/// Every frame selected for the session takes the next sequence number, also one that is then
/// dropped here (too big, a failed send), so a gap the collector sees is a frame lost, and ours
/// are counted below. Workers sharing a session take numbers from one atomic counter: numbers
/// are never repeated or skipped, but two workers sending at the same instant may put two
/// neighbours on the wire out of order.
///
/// Frames never leave fragmented (the socket sets DF: see `GRESocket`): one longer than the path
/// takes is cut to fit with the ERSPAN T bit set, or, for plain GRE, which has no way to say so,
/// dropped and counted.
public final class TunnelSession: Sendable {
    public let header: TunnelHeader
    private let ipv6: Bool
    private let nextSequence = ManagedAtomic<UInt32>(0)
    /// The longest frame that fits the path MTU behind the outer IP header and `header`.
    private let maximumFrameCell: ManagedAtomic<Int>
    private let truncatedCell = ManagedAtomic<UInt64>(0)
    private let tooBigCell = ManagedAtomic<UInt64>(0)
    private let noRouteCell = ManagedAtomic<UInt64>(0)
    private let messageTooLongCell = ManagedAtomic<UInt64>(0)
    private let queueFullCell = ManagedAtomic<UInt64>(0)
    private let otherCell = ManagedAtomic<UInt64>(0)

    /// Why frames of the session were cut or not sent, since the output was set up.
    public struct Counters: Equatable, Sendable {
        /// ERSPAN frames cut to fit the path MTU (sent with the T bit).
        public var truncated: UInt64 = 0
        /// GRE frames larger than the path MTU takes, dropped.
        public var tooBig: UInt64 = 0
        /// Sends refused: no route to the remote (ENETUNREACH, EHOSTUNREACH).
        public var noRoute: UInt64 = 0
        /// Sends refused as larger than the path MTU, which had shrunk since it was last read (EMSGSIZE).
        public var messageTooLong: UInt64 = 0
        /// Sends refused because the socket's send queue was full (EAGAIN, ENOBUFS).
        public var queueFull: UInt64 = 0
        /// Any other errno.
        public var other: UInt64 = 0

        public init() {}
    }

    /// `descriptor`: the session's connected raw GRE socket, asked for the path MTU now and
    /// whenever a send says it shrank.
    public init(header: TunnelHeader, ipv6: Bool, descriptor: FileDescriptor) throws(Errno) {
        self.header = header
        self.ipv6 = ipv6
        maximumFrameCell = ManagedAtomic(0)
        try refreshPathMTU(descriptor)
    }

    public var counters: Counters {
        var counters = Counters()
        counters.truncated = truncatedCell.load(ordering: .relaxed)
        counters.tooBig = tooBigCell.load(ordering: .relaxed)
        counters.noRoute = noRouteCell.load(ordering: .relaxed)
        counters.messageTooLong = messageTooLongCell.load(ordering: .relaxed)
        counters.queueFull = queueFullCell.load(ordering: .relaxed)
        counters.other = otherCell.load(ordering: .relaxed)
        return counters
    }

    /// The path MTU now known for the remote, outer IP header included.
    public var pathMTU: Int { maximumFrameCell.load(ordering: .relaxed) + outerOverhead }

    private var outerOverhead: Int { (ipv6 ? 40 : 20) + header.length }

    private func refreshPathMTU(_ descriptor: FileDescriptor) throws(Errno) {
        let mtu = try descriptor.pathMTU(ipv6: ipv6)
        maximumFrameCell.store(max(0, mtu - outerOverhead), ordering: .relaxed)
    }

    /// Writes `record`'s header into `buffer` (`header.length` bytes) and returns how many of the
    /// frame's bytes follow it, or nil if the frame cannot go out (counted).
    @inline(__always)
    func encapsulate(_ record: RingRecord, into buffer: UnsafeMutableRawPointer) -> Int? {
        let sequence = header.hasSequenceNumbers ? nextSequence.loadThenWrappingIncrement(ordering: .relaxed) : 0
        var length = record.frame.count
        let maximum = maximumFrameCell.load(ordering: .relaxed)
        if length > maximum {
            guard header.canTruncate else {
                tooBigCell.wrappingIncrement(ordering: .relaxed)
                return nil
            }
            length = maximum
            truncatedCell.wrappingIncrement(ordering: .relaxed)
        }
        let stamp = record.timestampNanoseconds != 0 ? record.timestampNanoseconds : RecordClock.now()
        header.write(into: buffer, record: record, sequence: sequence,
                     truncated: length < record.originalLength, timestamp: stamp)
        return length
    }

    /// Counts a send that failed with `error`; a path MTU that shrank is read again, so the
    /// frames after this one fit.
    func countFailure(_ error: Int32, descriptor: Int32) {
        switch error {
        case ENETUNREACH, EHOSTUNREACH:
            noRouteCell.wrappingIncrement(ordering: .relaxed)
        case EMSGSIZE:
            messageTooLongCell.wrappingIncrement(ordering: .relaxed)
            try? refreshPathMTU(FileDescriptor(rawValue: descriptor))
        case EAGAIN, ENOBUFS:
            queueFullCell.wrappingIncrement(ordering: .relaxed)
        default:
            otherCell.wrappingIncrement(ordering: .relaxed)
        }
    }
}
