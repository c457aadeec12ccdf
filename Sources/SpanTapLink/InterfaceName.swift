import SystemPackage

/// Interface name rules, checked before a name reaches the kernel.
///
/// The kernel would reject a bad name too, but as a bare EINVAL/ERANGE from deep inside
/// rtnetlink or TUNSETIFF; and TUNSETIFF silently truncates at IFNAMSIZ - 1, which would
/// create a TAP with a different name than the one configured. Checking here gives one clear
/// error naming the rule that was broken. The rules are the kernel's dev_valid_name(), plus no
/// control characters (the kernel allows them, but no tool prints such a name sensibly).
enum InterfaceName {
    /// IFNAMSIZ (16) minus the terminating NUL.
    static let maximumLength = 15

    static func validate(_ name: String, operation: String) throws {
        func reject(_ errno: Errno, _ why: String) -> LinkError {
            LinkError(operation: operation, device: name, errno: errno, message: why)
        }
        let bytes = name.utf8
        if bytes.isEmpty {
            throw reject(.invalidArgument, "interface name is empty")
        }
        if bytes.count > maximumLength {
            throw reject(
                .fileNameTooLong,
                "interface name is \(bytes.count) bytes, the kernel allows at most \(maximumLength)")
        }
        if name == "." || name == ".." {
            throw reject(.invalidArgument, "interface name may not be \".\" or \"..\"")
        }
        if bytes.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") || $0 <= 0x20 || $0 == 0x7f }) {
            throw reject(.invalidArgument, "interface name may not contain '/', ':', spaces or control characters")
        }
    }
}
