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
    /// One count per `Outcome`, indexed by its raw value.
    private let tallies: [ManagedAtomic<UInt64>] = Outcome.allCases.map { _ in ManagedAtomic(0) }

    /// What became of frames of the session that did not go out whole, since the output was set up.
    public enum Outcome: Int, CaseIterable, Sendable {
        /// ERSPAN frames cut to fit the path MTU (sent with the T bit).
        case truncated
        /// GRE frames larger than the path MTU takes, dropped.
        case tooBig
        /// Sends refused: no route to the remote (ENETUNREACH, EHOSTUNREACH).
        case noRoute
        /// Sends refused as larger than the path MTU, which had shrunk since it was last read (EMSGSIZE).
        case messageTooLong
        /// Sends refused because the socket's send queue was full (EAGAIN, ENOBUFS).
        case queueFull
        /// Sends refused with any other errno.
        case other
    }

    /// `descriptor`: the session's connected raw GRE socket, asked for the path MTU now and
    /// whenever a send says it shrank.
    public init(header: TunnelHeader, ipv6: Bool, descriptor: FileDescriptor) throws(Errno) {
        self.header = header
        self.ipv6 = ipv6
        maximumFrameCell = ManagedAtomic(0)
        try refreshPathMTU(descriptor)
    }

    /// How many frames of the session ended so.
    public func count(_ outcome: Outcome) -> UInt64 { tallies[outcome.rawValue].load(ordering: .relaxed) }

    private func tally(_ outcome: Outcome) { tallies[outcome.rawValue].wrappingIncrement(ordering: .relaxed) }

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
                tally(.tooBig)
                return nil
            }
            length = maximum
            tally(.truncated)
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
            tally(.noRoute)
        case EMSGSIZE:
            tally(.messageTooLong)
            try? refreshPathMTU(FileDescriptor(rawValue: descriptor))
        case EAGAIN, ENOBUFS:
            tally(.queueFull)
        default:
            tally(.other)
        }
    }
}
