import Glibc
import SpanTapLink
import SpanTapTestSupport
import SystemPackage
import Testing

/// tcpdump on a mirror TAP must show mirrored frames only, never the kernel's own chatter.
@Suite("A mirror TAP emits nothing of its own")
struct SilentTapTests {
    @Test(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
    func tapOutputSendsNoFramesAfterBringUp() throws {
        let control = try LinkControl()
        let name = uniqueName("quiet")
        defer { removeLinkIfPresent(name) }

        let output = try TapOutput.create(name: name, configuration: TapConfiguration(mtu: 1500), control: control)
        defer { try? output.remove() }
        // Every frame the kernel transmits on a TAP is queued on its fd, from bring-up on.
        let frames = try framesEmitted(on: output.fd, during: .milliseconds(2500))
        #expect(frames.isEmpty, "kernel sent on \(name): \(summary(frames))")
    }

    /// The positive control: the check above can only fail if a TAP that nobody silenced does
    /// talk. IPv6 is switched on for this one device whatever the host's default, so the control
    /// runs (and must see IPv6 frames) also where `net.ipv6.conf.default.disable_ipv6` is 1.
    /// Only a kernel without IPv6 at all disables it, and says so.
    @Test(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)),
          .enabled(if: kernelHasIPv6, "this kernel has no IPv6 (no /proc/sys/net/ipv6): nothing to switch off"))
    func plainTapDoesSendIPv6FramesAfterBringUp() throws {
        let control = try LinkControl()
        let name = uniqueName("noisy")
        defer { removeLinkIfPresent(name) }

        let device = try TapDevice(name: name)
        defer { device.close() }
        try writeSysctl("/proc/sys/net/ipv6/conf/\(name)/disable_ipv6", "0")
        try control.configure(name, LinkSettings(up: true))
        let frames = try framesEmitted(on: device.fd, during: .milliseconds(2500))
        #expect(frames.contains { $0.count >= 14 && $0[12] == 0x86 && $0[13] == 0xdd }, "got: \(summary(frames))")
    }
}

private let kernelHasIPv6 = access("/proc/sys/net/ipv6", F_OK) == 0

private func writeSysctl(_ path: String, _ value: String) throws {
    let file = try FileDescriptor.open(path, .writeOnly)
    defer { try? file.close() }
    _ = try file.writeAll(value.utf8)
}
