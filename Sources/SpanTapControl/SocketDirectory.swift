import Glibc
import SpanTapSystem
import SystemPackage

/// The control socket's directory must be one that only root can change: whoever can write there
/// can delete the socket and put their own in its place (clients would then talk to an impostor)
/// or plant a symlink at its path. A sticky directory owned by root (like /tmp) is fine: there
/// nobody may remove or rename another user's entries.
///
/// Checked for the directory and every ancestor, both as written (a symlink on the way must be
/// root's own) and as resolved (the real directories the path leads through).
enum SocketDirectory {
    static let advice = "use a root-owned directory such as /run/spantap"

    static func check(socketPath: String) throws(ControlSocketError) {
        let directory = parent(of: socketPath)
        guard let resolved = realpath(directory, nil) else {
            throw ControlSocketError(operation: "find control socket directory", path: directory, errno: Errno.last)
        }
        let real = String(cString: resolved)
        free(resolved)
        var checked: Set<String> = []
        for path in ancestors(absolute(directory)) + ancestors(real) where checked.insert(path).inserted {
            try checkOne(path, socketPath: socketPath)
        }
    }

    private static func checkOne(_ path: String, socketPath: String) throws(ControlSocketError) {
        func refuse(_ why: String) -> ControlSocketError {
            ControlSocketError(operation: "use control socket directory", path: path, errno: .notPermitted,
                               hint: "\(why), so another user could replace the socket \(socketPath); \(advice)")
        }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            throw ControlSocketError(operation: "inspect control socket directory", path: path, errno: Errno.last)
        }
        guard info.st_uid == 0 || info.st_uid == geteuid() else {
            throw refuse("it is owned by uid \(info.st_uid)")
        }
        // A symlink's own mode means nothing; where it leads is checked via the resolved path.
        guard info.st_mode & S_IFMT != S_IFLNK else { return }
        let othersMayWrite = info.st_mode & (S_IWGRP | S_IWOTH) != 0
        let stickyRoot = info.st_mode & S_ISVTX != 0 && info.st_uid == 0
        guard !othersMayWrite || stickyRoot else {
            throw refuse("it is writable by group or others (mode \(String(info.st_mode & 0o7777, radix: 8))) and is not a sticky directory owned by root")
        }
    }

    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func absolute(_ path: String) -> String {
        guard !path.hasPrefix("/") else { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/" + path
    }

    /// "/a/b" -> ["/a/b", "/a", "/"]: each directory the kernel walks to reach it.
    private static func ancestors(_ path: String) -> [String] {
        let parts = path.split(separator: "/")
        return (0...parts.count).reversed().map { "/" + parts.prefix($0).joined(separator: "/") }
    }
}
