import Glibc
import SpanTapSystem

/// Tells systemd (Type=notify) what the daemon is doing, over the `$NOTIFY_SOCKET` protocol: one
/// datagram of `KEY=VALUE` lines to a unix socket, `@` meaning the abstract namespace (see
/// sd_notify(3)). Written against the protocol rather than libsystemd, one dependency fewer.
/// Without `$NOTIFY_SOCKET` (not started by systemd) every call does nothing.
public struct SystemdNotifier: Sendable {
    private let path: String?

    public init(environment path: String? = getenv("NOTIFY_SOCKET").map { String(cString: $0) }) {
        self.path = path.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Start-up finished or a reload done: outputs, bindings and the control socket are up.
    public func ready(status: String) { send("READY=1\nSTATUS=\(status)") }

    /// A reload begins; systemd holds `systemctl reload` until the next READY=1. MONOTONIC_USEC is
    /// what Type=notify-reload (systemd 253+) wants to match the reload to its request.
    public func reloading() {
        send("RELOADING=1\nSTATUS=reloading the config\nMONOTONIC_USEC=\(MonotonicClock.microseconds())")
    }

    public func stopping() { send("STOPPING=1\nSTATUS=stopping: draining rings, removing TAPs") }

    /// Best effort by design: systemd not listening is no reason to fail the daemon.
    private func send(_ message: String) {
        guard let path else { return }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var name = Array(path.utf8)
        if name.first == UInt8(ascii: "@") { name[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard name.count < capacity else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: name) }
        // Abstract names are exactly their bytes; filesystem paths include the terminating NUL.
        let length = MemoryLayout<sa_family_t>.size + name.count + (name.first == 0 ? 0 : 1)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(message.utf8)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { target in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), target, socklen_t(length)) }
            }
        }
    }
}
