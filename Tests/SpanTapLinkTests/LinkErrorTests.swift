import CLibNLRoute
@testable import SpanTapLink
import SpanTapTestSupport
import SystemPackage
import Testing

@Suite("Link errors")
struct LinkErrorTests {
    @Test func netlinkCodesMapToErrnoAndKeepLibnlText() {
        let error = LinkError(operation: "set MTU", device: "span0", netlinkCode: -NLE_PERM)
        #expect(error.errno == .notPermitted)
        #expect(error.description == "set MTU on span0: Operation not permitted (EPERM)")

        #expect(LinkError.errno(forNetlinkCode: -NLE_NODEV) == .operationNotSupportedByDevice)
        #expect(LinkError.errno(forNetlinkCode: -NLE_OBJ_NOTFOUND) == .operationNotSupportedByDevice)
        #expect(LinkError.errno(forNetlinkCode: -NLE_EXIST) == .fileExists)
        #expect(LinkError.errno(forNetlinkCode: -NLE_BUSY) == .resourceBusy)
        #expect(LinkError.errno(forNetlinkCode: -NLE_OPNOTSUPP) == .notSupportedOnSocket)
        #expect(LinkError.errno(forNetlinkCode: -NLE_NOACCESS) == .permissionDenied)
        #expect(LinkError.errno(forNetlinkCode: -NLE_MSG_TRUNC) == .ioError)
    }

    @Test func namesLongerThanFifteenBytesAreRejectedBeforeTheKernelSeesThem() throws {
        let name = "spantap-mirror-0"  // 16 bytes: TUNSETIFF would silently cut it to 15
        let error = try #require(throws: LinkError.self) { try TapDevice(name: name) }
        #expect(error.errno == .fileNameTooLong)
        #expect(error.description.contains(name))
        #expect(error.description.contains("at most 15"))

        let control = try LinkControl()
        let lookup = try #require(throws: LinkError.self) { try control.link(named: name) }
        #expect(lookup.errno == .fileNameTooLong)
        #expect(throws: LinkError.self) { try TapDevice(name: "span/0") }
        #expect(throws: LinkError.self) { try TapDevice(name: "") }
    }

    @Test(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
    func configuringAMissingDeviceIsENODEV() throws {
        let control = try LinkControl()
        let name = uniqueName("gone")
        #expect(try control.link(named: name) == nil)

        let error = try #require(throws: LinkError.self) { try control.configure(name, LinkSettings(mtu: 1500)) }
        #expect(error.errno == .operationNotSupportedByDevice)
        #expect(error.description.contains(name), "\(error)")
        #expect(error.description.contains("ENODEV"), "\(error)")

        let deletion = try #require(throws: LinkError.self) { try control.delete(name) }
        #expect(deletion.errno == .operationNotSupportedByDevice)
    }

    @Test(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
    func anExistingNonTapNameIsRefusedClearlyAndLeftAlone() throws {
        let name = uniqueName("veth")
        let peer = uniqueName("veth")
        defer { removeLinkIfPresent(name) }
        try addVethPair(name, peer: peer)
        let control = try LinkControl()

        let error = try #require(throws: LinkError.self) {
            try TapOutput.create(name: name, configuration: TapConfiguration(mtu: 1500), control: control)
        }
        #expect(error.errno == .invalidArgument)
        #expect(error.description.contains("not a single-queue TAP"), "\(error)")
        #expect(try control.link(named: name)?.kind == "veth")
    }

    @Test(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
    func kernelRefusalsNameTheSettingThatFailed() throws {
        let name = uniqueName("mtu")
        defer { removeLinkIfPresent(name) }
        let control = try LinkControl()
        let device = try TapDevice(name: name)
        defer { device.close() }

        // A TAP's MTU tops out at 65535; the kernel refuses more with EINVAL.
        let error = try #require(throws: LinkError.self) {
            try control.configure(name, LinkSettings(mtu: 70_000))
        }
        #expect(error.operation == "set MTU")
        #expect(error.errno == .invalidArgument, "\(error)")
        #expect(error.description.hasPrefix("set MTU on \(name): "), "\(error)")
    }
}
