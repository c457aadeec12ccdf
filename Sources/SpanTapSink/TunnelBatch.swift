import CSpanTapSys
import Glibc
import SpanTapRing

/// A sink worker's sends to remote (ERSPAN, GRE) outputs within one drained batch, made with
/// sendmmsg(2): one kernel entry per run of frames to one session rather than one per frame, the
/// way a sender written for the job in C does it. Each frame goes out as two pieces, its header
/// here and its bytes in the ring slot (no copy), so the worker sends what is pending (`flush`)
/// before it releases the batch's slots. Confined to the worker's queue.
final class TunnelBatch {
    let capacity: Int
    private let messages: UnsafeMutablePointer<spantap_mmsghdr>
    private let vectors: UnsafeMutablePointer<iovec>
    private let headers: UnsafeMutableRawPointer
    private let outputIDs: UnsafeMutablePointer<UInt32>
    private let lengths: UnsafeMutablePointer<Int>
    private let timestamps: UnsafeMutablePointer<UInt64>
    private var count = 0
    /// The socket and session of what is pending: a batch goes to one socket.
    private var descriptor: Int32 = -1
    private var tunnel: Unmanaged<TunnelSession>?

    init(capacity: Int) {
        self.capacity = capacity
        messages = .allocate(capacity: capacity)
        messages.initialize(repeating: spantap_mmsghdr(), count: capacity)
        vectors = .allocate(capacity: 2 * capacity)
        vectors.initialize(repeating: iovec(), count: 2 * capacity)
        headers = .allocate(byteCount: capacity * TunnelHeader.maximumLength, alignment: 8)
        outputIDs = .allocate(capacity: capacity)
        lengths = .allocate(capacity: capacity)
        timestamps = .allocate(capacity: capacity)
    }

    deinit {
        messages.deallocate()
        vectors.deallocate()
        headers.deallocate()
        outputIDs.deallocate()
        lengths.deallocate()
        timestamps.deallocate()
    }

    /// Adds `record` for output `outputID` (session `tunnel` on socket `descriptor`), sending
    /// what is pending first if it is for another socket or the batch is full. A frame the
    /// session refuses (too big for plain GRE) is a failure of the output at once.
    @inline(__always)
    func append(_ record: RingRecord, outputID: UInt32, descriptor: Int32, tunnel: Unmanaged<TunnelSession>, outputs: OutputTable) {
        if count == capacity || (count > 0 && descriptor != self.descriptor) { flush(outputs) }
        let header = headers + count * TunnelHeader.maximumLength
        guard let length = tunnel._withUnsafeGuaranteedRef({ $0.encapsulate(record, into: header) }) else {
            outputs.failed(outputID)
            return
        }
        self.descriptor = descriptor
        self.tunnel = tunnel
        vectors[2 * count] = iovec(iov_base: header, iov_len: tunnel._withUnsafeGuaranteedRef { $0.header.length })
        vectors[2 * count + 1] = iovec(iov_base: UnsafeMutableRawPointer(mutating: record.frame.baseAddress), iov_len: length)
        messages[count].msg_hdr = msghdr(msg_name: nil, msg_namelen: 0, msg_iov: vectors + 2 * count, msg_iovlen: 2,
                                         msg_control: nil, msg_controllen: 0, msg_flags: 0)
        outputIDs[count] = outputID
        lengths[count] = length
        timestamps[count] = record.timestampNanoseconds
        count += 1
    }

    /// Sends everything pending and settles each frame in `outputs`: delivered, or failed and
    /// counted by reason in its session (a send the kernel refuses is skipped, the rest go on).
    func flush(_ outputs: OutputTable) {
        guard count > 0, let tunnel else { return }
        var next = 0
        while next < count {
            let sent = Int(spantap_sendmmsg(descriptor, messages + next, UInt32(count - next), Int32(MSG_DONTWAIT)))
            if sent > 0 {
                for index in next..<(next + sent) {
                    outputs.delivered(outputIDs[index], bytes: lengths[index], timestamp: timestamps[index])
                }
                next += sent
            } else {
                tunnel._withUnsafeGuaranteedRef { $0.countFailure(sent < 0 ? errno : EIO, descriptor: descriptor) }
                outputs.failed(outputIDs[next])
                next += 1
            }
        }
        count = 0
    }
}
