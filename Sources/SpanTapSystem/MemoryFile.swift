import CSpanTapSys
import Glibc
import SystemPackage

extension FileDescriptor {
    /// A new memfd (close-on-exec, sealable), named `name` in /proc/PID/fd (`memfd:NAME`).
    public static func memoryFile(name: String) throws(Errno) -> FileDescriptor {
        FileDescriptor(rawValue: try Errno.check(spantap_memfd_create(name)))
    }

    /// Forbids growing, shrinking and further sealing of this memfd, so a process it is handed to
    /// cannot make our mapping of it SIGBUS.
    public func sealSize() throws(Errno) {
        try Errno.check(spantap_memfd_seal_size(rawValue))
    }

    /// Sets the file's size (ftruncate); a memfd's new bytes are zero.
    public func setByteCount(_ count: Int) throws(Errno) {
        try Errno.check(ftruncate(rawValue, off_t(count)))
    }

    /// The file's size in bytes (fstat).
    public func byteCount() throws(Errno) -> Int {
        var status = Glibc.stat()
        try Errno.check(fstat(rawValue, &status))
        return Int(status.st_size)
    }
}
