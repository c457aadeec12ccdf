import Foundation
import Glibc
import SpanTapControl
import SpanTapTestSupport
import Testing

@Suite(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct DaemonReloadTests {
    @Test func reloadAppliesOnlyTheDifferenceAndRefusesABadFile() throws {
        let first = uniqueName("out"), second = uniqueName("out2"), ingressA = uniqueName("ina"), ingressB = uniqueName("inb")
        let lab = try DaemonLab(config: DaemonLab.config(rate: 10, ingress: [ingressA], output: first))
        lab.interfaces = [first, second]
        defer { lab.cleanUp() }
        try lab.start()
        let firstIndex = try #require(ifindex(of: first))

        // A changed rate and a new instance: span1 keeps its TAP; span2 gets a new one.
        try lab.writeConfig(DaemonLab.config(rate: 64, ingress: [ingressA], output: first)
            + DaemonLab.config(instance: "span2", ingress: [ingressB], output: second))
        let reloaded = try lab.send(.reload)
        #expect(reloaded.ok)
        #expect(reloaded.message == "instances added: span2; instances changed: span1; outputs added: \(second)")
        var status = try lab.status()
        #expect(status.instances.map(\.rate) == [64, 1])
        #expect(status.instances.first?.output.ifindex == firstIndex)
        #expect(ifindex(of: second) != nil)

        // A bad file is refused with its location, and nothing changes.
        try lab.writeConfig(DaemonLab.config(rate: 64, ingress: [ingressA], output: first) + "set forwarding-options mirroring\n")
        let refused = try lab.send(.reload)
        #expect(refused.ok == false)
        #expect(refused.error?.contains("\(lab.configPath):4:") == true)
        #expect(try lab.status() == status)

        // SIGHUP reloads too: span2 removed, its TAP deleted, span1 untouched.
        try lab.writeConfig(DaemonLab.config(rate: 64, ingress: [ingressA], output: first))
        kill(lab.process!.processIdentifier, SIGHUP)
        #expect(waitUntil { ifindex(of: second) == nil })
        status = try lab.status()
        #expect(status.instances.map(\.name) == ["span1"])
        #expect(status.instances.first?.output.ifindex == firstIndex)
    }

    @Test func reloadThatCannotCreateAnOutputChangesNothing() throws {
        let first = uniqueName("out"), busy = uniqueName("busy")
        let lab = try DaemonLab(config: DaemonLab.config(ingress: [uniqueName("in")], output: first))
        lab.interfaces = [first, busy]
        defer { lab.cleanUp() }
        // A TUN (L3) device by that name cannot be a mirror output.
        try run("ip", "tuntap", "add", busy, "mode", "tun")
        try lab.start()
        let before = try lab.status()
        try lab.writeConfig(DaemonLab.config(ingress: [uniqueName("in")], output: first)
            + DaemonLab.config(instance: "span2", ingress: [uniqueName("in")], output: busy))
        let refused = try lab.send(.reload)
        #expect(refused.ok == false)
        #expect(refused.error?.contains(busy) == true, "\(refused.error ?? "")")
        #expect(try lab.status() == before)
    }
}
