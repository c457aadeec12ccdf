import SpanTapLink
import SpanTapTestSupport
import Testing

@Suite("TapOutput on real TAP devices")
struct TapOutputTests {
    let control: LinkControl

    init() throws {
        control = try LinkControl()
    }

    @Test(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
    func createConfigureReadBackAndRemove() throws {
        let name = uniqueName("tap")
        defer { removeLinkIfPresent(name) }
        let address = try #require(EthernetAddress("02:53:50:54:41:50"))

        let output = try TapOutput.create(
            name: name,
            configuration: TapConfiguration(mtu: 1600, address: address, alias: "spantap: span1", txQueueLength: 500),
            control: control)
        #expect(output.name == name)
        #expect(output.persistent == false)

        let info = try #require(try control.link(named: name))
        #expect(info.ifindex == output.ifindex)
        #expect(info == output.info)
        #expect(info.isUp)
        #expect(info.isNoARP)
        #expect(info.mtu == 1600)
        #expect(info.alias == "spantap: span1")
        #expect(info.address == address)
        #expect(info.txQueueLength == 500)
        #expect(info.kind == "tun")
        #expect(try control.link(index: output.ifindex) == info)

        // The same through iproute2, which decodes the tun-specific attributes itself.
        let details = try run("ip", "-d", "link", "show", name)
        #expect(details.contains("tun type tap"), "\(details)")
        #expect(details.contains("persist off"), "\(details)")
        #expect(details.contains("mtu 1600"), "\(details)")
        #expect(details.contains("qlen 500"), "\(details)")
        #expect(details.contains("link/ether 02:53:50:54:41:50"), "\(details)")
        #expect(details.contains("alias spantap: span1"), "\(details)")
        #expect(details.contains("NOARP"), "\(details)")
        #expect(details.contains("addrgenmode none"), "\(details)")

        try output.remove()
        #expect(try control.link(named: name) == nil)
        try output.remove()  // a vanished device is not an error
    }

    @Test(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
    func persistentTapOutlivesItsDescriptor() throws {
        let name = uniqueName("ptap")
        defer { removeLinkIfPresent(name) }

        let output = try TapOutput.create(
            name: name, configuration: TapConfiguration(mtu: 1500, persistent: true), control: control)
        #expect(output.persistent)
        try output.remove()  // closes only

        let left = try #require(try control.link(named: name), "a persistent TAP must survive its fd")
        #expect(left.ifindex == output.ifindex)
        #expect(left.kind == "tun")
        #expect(try run("ip", "-d", "link", "show", name).contains("persist on"))

        try control.delete(name)
        #expect(try control.link(named: name) == nil)
    }

    @Test(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
    func leftoverPersistentTapIsReusedAndThenOwnedNonPersistently() throws {
        let name = uniqueName("rtap")
        defer { removeLinkIfPresent(name) }

        let first = try TapOutput.create(
            name: name, configuration: TapConfiguration(mtu: 1500, persistent: true), control: control)
        try first.remove()

        let second = try TapOutput.create(name: name, configuration: TapConfiguration(mtu: 9000), control: control)
        #expect(second.ifindex == first.ifindex, "TUNSETIFF re-attaches to the existing persistent TAP")
        #expect(second.info.mtu == 9000)
        #expect(try run("ip", "-d", "link", "show", name).contains("persist off"))
        try second.remove()
        #expect(try control.link(named: name) == nil)
    }
}
