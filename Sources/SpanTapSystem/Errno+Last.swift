import Glibc
import SystemPackage

extension Errno {
    /// The calling thread's `errno`, right after a call that failed. One spelling for
    /// `Errno(rawValue: errno)`, so a call site reads `throw Errno.last`.
    @inlinable
    public static var last: Errno { Errno(rawValue: Glibc.errno) }

    /// `result`, or `Errno.last` thrown when the call returned -1 (swift-system's convention for
    /// the calls it does not wrap itself).
    @inlinable @discardableResult
    public static func check<Result: FixedWidthInteger>(_ result: Result) throws(Errno) -> Result {
        guard result != -1 else { throw last }
        return result
    }
}
