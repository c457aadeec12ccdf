import CSpanTapUring
import Glibc
import SpanTapRing
import SystemPackage

/// One sink worker's io_uring and the batch it submits: a drained batch of records becomes one
/// submission of writes (one `io_uring_enter` instead of one `write(2)` per frame). The entries
/// are allocated once; staging a record stores its write, fate and record. Confined to the
/// worker's queue.
final class UringBatch {
    /// Why a staged record is not written (its fate is decided when the batch is walked, so a
    /// record that is not reached is not counted).
    enum Skip: UInt8 {
        case none, badRecord, notGranted, noBinding
        /// Bound to a remote output: sent with its session's sendmmsg batch (`TunnelBatch`).
        case tunnel
        /// Bound to a fan-out: written to each member when the batch is walked.
        case fanOut
    }

    let capacity: Int
    private let uring: OpaquePointer
    private let writes: UnsafeMutablePointer<spantap_uring_write>
    private let skips: UnsafeMutablePointer<Skip>
    private let outputIDs: UnsafeMutablePointer<UInt32>
    private let timestamps: UnsafeMutablePointer<UInt64>
    /// The records themselves (they point into slots that stay unreleased until the batch is
    /// walked), for the capture clients' copies and the fan-outs' members.
    private let records: UnsafeMutablePointer<RingRecord?>

    /// A batch of `capacity` writes, or the errno that says why io_uring cannot be used here.
    static func open(capacity: Int) -> Result<UringBatch, Errno> {
        var error: Int32 = 0
        guard let uring = spantap_uring_open(UInt32(capacity), &error) else { return .failure(Errno(rawValue: -error)) }
        return .success(UringBatch(uring: uring, capacity: capacity))
    }

    private init(uring: OpaquePointer, capacity: Int) {
        self.uring = uring
        self.capacity = capacity
        writes = .allocate(capacity: capacity)
        writes.initialize(repeating: spantap_uring_write(), count: capacity)
        skips = .allocate(capacity: capacity)
        skips.initialize(repeating: .none, count: capacity)
        outputIDs = .allocate(capacity: capacity)
        outputIDs.initialize(repeating: 0, count: capacity)
        timestamps = .allocate(capacity: capacity)
        timestamps.initialize(repeating: 0, count: capacity)
        records = .allocate(capacity: capacity)
        records.initialize(repeating: nil, count: capacity)
    }

    deinit {
        spantap_uring_close(uring)
        writes.deallocate()
        skips.deallocate()
        outputIDs.deallocate()
        timestamps.deallocate()
        records.deinitialize(count: capacity)
        records.deallocate()
    }

    @inline(__always)
    func stage(_ index: Int, _ record: RingRecord, descriptor: Int32) {
        writes[index] = spantap_uring_write(buffer: record.frame.baseAddress, length: UInt32(record.frame.count),
                                            fd: descriptor, result: 0, reserved: 0)
        skips[index] = descriptor >= 0 ? .none : .noBinding
        outputIDs[index] = record.outputID
        timestamps[index] = record.timestampNanoseconds
        records[index] = record
    }

    /// `record`: for a remote output or a fan-out, the record the walk still copies to captures
    /// (and writes to the members).
    @inline(__always)
    func skip(_ index: Int, _ reason: Skip, record: RingRecord? = nil) {
        writes[index].fd = -1
        skips[index] = reason
        records[index] = record
    }

    /// Writes the staged entries `0..<count` as one submission of independent (unlinked) writes and
    /// waits for all of them, so no write is in flight when this returns. Fails only if the ring
    /// itself failed.
    func submit(_ count: Int) -> Errno? {
        let result = spantap_uring_write_batch(uring, writes, UInt32(count))
        return result == 0 ? nil : Errno(rawValue: -result)
    }

    @inline(__always) func skipReason(_ index: Int) -> Skip { skips[index] }
    @inline(__always) func outputID(_ index: Int) -> UInt32 { outputIDs[index] }
    @inline(__always) func timestamp(_ index: Int) -> UInt64 { timestamps[index] }
    /// The record at `index` (staged, or skipped for a remote output, a fan-out or no output),
    /// valid until the batch's slots are released.
    @inline(__always) func record(_ index: Int) -> RingRecord { records[index]! }
    @inline(__always) func length(_ index: Int) -> Int { Int(writes[index].length) }
    /// Bytes written, or -errno (-EAGAIN: the output was full; each write's fate is its own).
    @inline(__always) func result(_ index: Int) -> Int { Int(writes[index].result) }
}
