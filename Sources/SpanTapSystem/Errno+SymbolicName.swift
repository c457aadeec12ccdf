import Glibc
import SystemPackage

extension Errno {
    /// The C constant's name ("EPERM"), because operators grep logs and man pages for it.
    /// Covers the errnos our system calls and link operations produce; anything else prints as "errno N".
    public var symbolicName: String {
        switch rawValue {
        case Glibc.EPERM: "EPERM"
        case Glibc.ENOENT: "ENOENT"
        case Glibc.EINTR: "EINTR"
        case Glibc.EIO: "EIO"
        case Glibc.EBADF: "EBADF"
        case Glibc.EAGAIN: "EAGAIN"
        case Glibc.ENOMEM: "ENOMEM"
        case Glibc.EACCES: "EACCES"
        case Glibc.EBUSY: "EBUSY"
        case Glibc.EEXIST: "EEXIST"
        case Glibc.ENODEV: "ENODEV"
        case Glibc.EINVAL: "EINVAL"
        case Glibc.ENOSPC: "ENOSPC"
        case Glibc.ERANGE: "ERANGE"
        case Glibc.ENAMETOOLONG: "ENAMETOOLONG"
        case Glibc.EOPNOTSUPP: "EOPNOTSUPP"
        case Glibc.EAFNOSUPPORT: "EAFNOSUPPORT"
        case Glibc.ENOBUFS: "ENOBUFS"
        case Glibc.ETIMEDOUT: "ETIMEDOUT"
        default: "errno \(rawValue)"
        }
    }
}
