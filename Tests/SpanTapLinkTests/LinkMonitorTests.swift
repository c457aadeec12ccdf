import Dispatch
import Foundation
import SpanTapLink
import SpanTapTestSupport
import Testing

@Suite("LinkMonitor follows real links")
struct LinkMonitorTests {
    @Test(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
    func reportsAddUpRenameAndRemove() throws {
        let first = uniqueName("mon")
        let second = uniqueName("mon")
        let peer = uniqueName("monp")
        defer {
            removeLinkIfPresent(first)
            removeLinkIfPresent(second)
            removeLinkIfPresent(peer)
        }
        let recorder = EventRecorder()
        let monitor = try LinkMonitor(queue: DispatchQueue(label: "test.link-monitor"), handler: recorder.record)
        try monitor.start()
        defer { monitor.cancel() }
        #expect(monitor.links.contains { $0.name == "lo" }, "the seeding dump lists existing links")

        try addVethPair(first, peer: peer)
        let added = try #require(recorder.wait { event -> LinkInfo? in
            if case .added(let link) = event, link.name == first { link } else { nil }
        }, "no .added for \(first); got \(recorder.all)")
        #expect(added.kind == "veth")
        #expect(!added.isUp)
        #expect(monitor.links.contains(where: { $0.ifindex == added.ifindex }))

        try run("ip", "link", "set", first, "up")
        let up = recorder.wait { event -> LinkInfo? in
            if case .stateChanged(let link) = event, link.ifindex == added.ifindex, link.isUp { link } else { nil }
        }
        #expect(up != nil, "no .stateChanged(up) for \(first); got \(recorder.all)")

        try run("ip", "link", "set", first, "name", second)
        let renamed = recorder.wait { event -> (LinkInfo, String)? in
            if case .renamed(let link, let from) = event, link.ifindex == added.ifindex { (link, from) } else { nil }
        }
        #expect(renamed?.0.name == second)
        #expect(renamed?.1 == first, "got \(recorder.all)")

        try run("ip", "link", "del", second)
        let removed = recorder.wait { event -> LinkInfo? in
            if case .removed(let link) = event, link.ifindex == added.ifindex { link } else { nil }
        }
        #expect(removed?.name == second, "got \(recorder.all)")
        #expect(!monitor.links.contains(where: { $0.ifindex == added.ifindex }))
    }

    @Test(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
    func linksPresentAtStartAreSeededNotReported() throws {
        let existing = uniqueName("old")
        let fresh = uniqueName("new")
        defer {
            removeLinkIfPresent(existing)
            removeLinkIfPresent(fresh)
        }
        try addVethPair(existing, peer: uniqueName("oldp"))

        let recorder = EventRecorder()
        let monitor = try LinkMonitor(queue: DispatchQueue(label: "test.link-monitor"), handler: recorder.record)
        try monitor.start()
        defer { monitor.cancel() }
        #expect(monitor.links.contains { $0.name == existing && $0.kind == "veth" })

        // Events arrive in order, so once the fresh link's .added is in, any event about the
        // existing link would have been too.
        try addVethPair(fresh, peer: uniqueName("newp"))
        let sawFresh = recorder.wait { event -> Bool? in
            if case .added(let link) = event, link.name == fresh { true } else { nil }
        }
        #expect(sawFresh == true)
        #expect(!recorder.all.contains { $0.link.name == existing }, "got \(recorder.all)")
    }

    @Test(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
    func cancelStopsEvents() throws {
        let name = uniqueName("cxl")
        defer { removeLinkIfPresent(name) }
        let recorder = EventRecorder()
        let queue = DispatchQueue(label: "test.link-monitor")
        let monitor = try LinkMonitor(queue: queue, handler: recorder.record)
        try monitor.start()
        monitor.cancel()
        monitor.cancel()
        queue.sync {}  // anything already queued has run

        try addVethPair(name, peer: uniqueName("cxlp"))
        let late = recorder.wait(timeout: .milliseconds(500)) { $0.link.name == name ? true : nil }
        #expect(late == nil)
    }
}

@Suite("LinkMonitor recovers from lost notifications")
struct LinkMonitorOverrunTests {
    /// With a tiny receive buffer and the queue held, the kernel must drop notifications
    /// (ENOBUFS); the monitor then re-dumps and still reports every new link.
    @Test(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
    func overrunIsRepairedByADump() throws {
        try Self.expectEveryLinkReportedAfterAnOverrun(prefix: "ovr")
    }

    /// Adds four links while a monitor with a 1 KiB receive buffer has its queue held, so the
    /// kernel must drop notifications, and expects each link reported and in the table anyway.
    static func expectEveryLinkReportedAfterAnOverrun(prefix: String) throws {
        let names = (0..<4).map { _ in uniqueName(prefix) }
        defer { names.forEach(removeLinkIfPresent) }
        let recorder = EventRecorder()
        let queue = DispatchQueue(label: "test.link-monitor")
        let monitor = try LinkMonitor(queue: queue, receiveBufferSize: 1024, handler: recorder.record)
        try monitor.start()
        defer { monitor.cancel() }

        queue.suspend()
        for name in names {
            try addVethPair(name, peer: uniqueName(prefix + "p"))
        }
        queue.resume()

        for name in names {
            let added = recorder.wait { event -> Bool? in
                if case .added(let link) = event, link.name == name { true } else { nil }
            }
            #expect(added == true, "no .added for \(name) (overruns: \(monitor.overruns)); got \(recorder.all)")
        }
        #expect(monitor.overruns > 0, "the test did not provoke an overrun; it proves nothing")
        for name in names {
            #expect(monitor.links.contains { $0.name == name })
        }
    }
}

/// A host whose links change all the time (other tests, containers coming and going): dumps are
/// interrupted (NLM_F_DUMP_INTR) again and again. start() must still succeed, every time, with a
/// complete table, and a monitor that lost notifications must still learn every link.
@Suite(.serialized)
struct LinkMonitorChurnTests {
    @Test(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
    func startSucceedsWhileLinksChangeUnderTheDump() throws {
        let standing = (0..<150).map { _ in uniqueName("chs") }
        defer { standing.forEach(removeLinkIfPresent) }
        try Self.addStanding(standing)
        try Self.withChurn {
            for attempt in 0..<100 {
                let monitor = try LinkMonitor(queue: DispatchQueue(label: "test.link-monitor.churn"), handler: { _ in })
                do {
                    try monitor.start()
                } catch {
                    Issue.record("start \(attempt) failed under link churn: \(error)")
                    return
                }
                let names = Set(monitor.links.map(\.name))
                monitor.cancel()
                #expect(standing.allSatisfy { names.contains($0) }, "start \(attempt): a standing link is missing")
            }
        }
    }

    /// CI ran the overrun test beside the one above: each re-dump was interrupted, libmnl dropped
    /// the rest of it, and links late in the list were never reported.
    @Test(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
    func overrunUnderChurnStillReportsEveryLink() throws {
        let standing = (0..<150).map { _ in uniqueName("chs") }
        defer { standing.forEach(removeLinkIfPresent) }
        try Self.addStanding(standing)
        try Self.withChurn { try LinkMonitorOverrunTests.expectEveryLinkReportedAfterAnOverrun(prefix: "ovc") }
    }

    /// Enough links (150) that a dump takes several replies, so changes land in the middle of one.
    private static func addStanding(_ names: [String]) throws {
        for name in names { try addVethPair(name, peer: uniqueName("chp")) }
    }

    /// Runs `body` while four shells add and delete links as fast as `ip` goes. They stop at the
    /// end of a round (add, then delete), when a stop file appears: a shell killed mid-round left
    /// its `ip link add` running after the cleanup, and the pair behind.
    private static func withChurn(_ body: () throws -> Void) throws {
        let churn = (0..<4).map { _ in (uniqueName("chn"), uniqueName("chq")) }
        let stop = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(uniqueName("stop")).path
        defer { for (name, _) in churn { removeLinkIfPresent(name) } }
        let churners = try churn.map { name, peer in
            try SpawnedProcess(["/bin/sh", "-c",
                                "while [ ! -e \(stop) ]; do ip link add \(name) type veth peer name \(peer); ip link del \(name); done"])
        }
        defer {
            _ = FileManager.default.createFile(atPath: stop, contents: nil)
            for churner in churners where !waitUntil(seconds: 10, { !churner.isRunning }) { churner.signal(SIGKILL) }
            for churner in churners { churner.waitUntilExit() }
            try? FileManager.default.removeItem(atPath: stop)
        }
        try body()
    }
}
