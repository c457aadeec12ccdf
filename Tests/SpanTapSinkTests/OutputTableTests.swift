@testable import SpanTapSink
import Testing

/// A fan-out's members are read per record from one packed pool that every change re-lays out:
/// each id must keep its own list through changes to the others, reuse as a plain output, and
/// the table growing.
struct OutputTableTests {
    @Test func eachFanOutKeepsItsMembersThroughChangesToTheOthers() {
        let table = OutputTable(worker: 0)
        table.setFanOut([0, 1], id: 2)
        table.setFanOut([1], id: 3)
        #expect(Array(table.members(2)) == [0, 1] && Array(table.members(3)) == [1])

        table.setFanOut([5, 6, 7], id: 2)
        #expect(Array(table.members(2)) == [5, 6, 7] && Array(table.members(3)) == [1], "a longer list moves the next one")

        table.setFanOut([9], id: 40)
        #expect(table.count == 41 && Array(table.members(40)) == [9])
        #expect(Array(table.members(2)) == [5, 6, 7] && Array(table.members(3)) == [1], "growing keeps the others")

        table.set(nil, id: 2)
        #expect(!table.fansOut(2) && table.members(2).isEmpty, "an id reused as an output has no members")
        table.setFanOut(nil, id: 3)
        #expect(!table.fansOut(3) && table.members(3).isEmpty)
        #expect(table.fansOut(40) && Array(table.members(40)) == [9], "the last fan-out standing")

        table.setFanOut([], id: 4)
        #expect(table.fansOut(4) && table.members(4).isEmpty, "a fan-out of no members is still a fan-out (its records go nowhere)")
    }
}
