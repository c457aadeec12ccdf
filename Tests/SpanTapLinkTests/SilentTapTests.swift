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

    /// The check above can only fail if a TAP left at kernel defaults does talk. It does, unless
    /// this host switches IPv6 off by default; then this comparison is meaningless and skipped.
    @Test(.enabled(if: Privileges.testsMayRun && ipv6IsOnByDefault, Comment(rawValue: Privileges.skipReason)))
    func plainTapDoesSendIPv6FramesAfterBringUp() throws {
        let control = try LinkControl()
        let name = uniqueName("noisy")
        defer { removeLinkIfPresent(name) }

        let device = try TapDevice(name: name)
        defer { device.close() }
        try control.configure(name, LinkSettings(up: true))
        let frames = try framesEmitted(on: device.fd, during: .milliseconds(2500))
        #expect(frames.contains { $0.count >= 14 && $0[12] == 0x86 && $0[13] == 0xdd }, "got: \(summary(frames))")
    }
}

private let ipv6IsOnByDefault: Bool = {
    guard let file = try? FileDescriptor.open("/proc/sys/net/ipv6/conf/default/disable_ipv6", .readOnly) else {
        return false
    }
    defer { try? file.close() }
    var byte: UInt8 = 0
    let count = (try? withUnsafeMutableBytes(of: &byte) { try file.read(into: $0) }) ?? 0
    return count == 1 && byte == UInt8(ascii: "0")
}()
