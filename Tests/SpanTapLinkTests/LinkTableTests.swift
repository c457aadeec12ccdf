@testable import SpanTapLink
import Testing

@Suite("LinkTable derives events from successive link states")
struct LinkTableTests {
    private func link(_ index: Int32, _ name: String, flags: UInt32 = 0) -> LinkInfo {
        LinkInfo(
            ifindex: index, name: name, flags: flags, mtu: 1500, address: nil, alias: nil,
            txQueueLength: 1000, kind: "dummy")
    }

    @Test func deriveAddRenameStateAndRemove() {
        var table = LinkTable()
        #expect(table.update(link(7, "a")) == [.added(link(7, "a"))])
        #expect(table.update(link(7, "a")) == [])
        #expect(table.update(link(7, "b")) == [.renamed(link(7, "b"), from: "a")])
        // IFF_UP | IFF_RUNNING (0x1 | 0x40) together with a rename: both are reported.
        #expect(table.update(link(7, "c", flags: 0x41)) == [
            .renamed(link(7, "c", flags: 0x41), from: "b"), .stateChanged(link(7, "c", flags: 0x41)),
        ])
        // Other flag bits (here IFF_NOARP) are not a state change.
        #expect(table.update(link(7, "c", flags: 0xC1)) == [])
        #expect(table.remove(link(7, "c")) == [.removed(link(7, "c"))])
        #expect(table.remove(link(7, "c")) == [])
    }

    @Test func aCompleteDumpRemovesWhatItDidNotMention() {
        var table = LinkTable()
        _ = table.update(link(1, "lo"))
        _ = table.update(link(5, "x"))
        _ = table.update(link(9, "y"))
        #expect(table.removeAll(notIn: [1, 9]) == [.removed(link(5, "x"))])
        #expect(table.links.keys.sorted() == [1, 9])
    }
}
