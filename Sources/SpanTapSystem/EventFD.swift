import CSpanTapSys
import Glibc
import SystemPackage

extension FileDescriptor {
    /// A new eventfd(2), non-blocking and close-on-exec: the wake-up of a ring's consumer and of
    /// a forwarding loop's poll.
    public static func eventFD() throws(Errno) -> FileDescriptor {
        FileDescriptor(rawValue: try Errno.check(spantap_eventfd()))
    }

    /// Adds 1 to this eventfd's counter, waking whoever polls it. EAGAIN (the counter is at its
    /// maximum, so the sleeper wakes anyway) is not an error.
    public func signalEvent() throws(Errno) {
        var one: UInt64 = 1
        guard Glibc.write(rawValue, &one, MemoryLayout<UInt64>.size) < 0 else { return }
        let error = Errno.last
        guard error == .resourceTemporarilyUnavailable else { throw error }
    }

    /// Resets this eventfd's counter to 0 so the next poll blocks again. Returns the count read
    /// (0: it was already clear; a non-blocking eventfd answers EAGAIN then, which is no error).
    @discardableResult
    public func clearEvent() throws(Errno) -> UInt64 {
        var counter: UInt64 = 0
        guard Glibc.read(rawValue, &counter, MemoryLayout<UInt64>.size) < 0 else { return counter }
        let error = Errno.last
        guard error == .resourceTemporarilyUnavailable else { throw error }
        return 0
    }
}
