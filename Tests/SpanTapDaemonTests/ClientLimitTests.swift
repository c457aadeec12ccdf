import Foundation
import Glibc
import SpanTapControl
import SpanTapTestSupport
import Testing

/// Every resource a client can make spantapd hold has a limit with a clear refusal (invariant 8).
@Suite(.enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct ClientLimitTests {
    /// Asks for a ring; an attached producer's connection is kept in `held` (closing it detaches).
    static func attach(_ lab: DaemonLab, _ request: AttachProducer, holding held: inout [ControlClient]) throws -> ControlResponse {
        let client = try ControlClient(path: lab.socketPath)
        let response = try client.send(.attachProducer(request)).0
        if response.ok { held.append(client) }
        return response
    }

    @Test func ringGeometryIsBoundedByTheDaemonsOwnRingOptions() throws {
        let (lab, _) = try DaemonLab.startedWithTap()
        defer { lab.cleanUp() }
        var held: [ControlClient] = []
        let huge = try Self.attach(lab, AttachProducer(name: "huge", slotCount: 1 << 20, slotSize: 1 << 17), holding: &held)
        #expect(huge.ok == false)
        #expect(huge.error?.contains("slot_count 1048576 is above the limit (spantapd --ring-slots) of 1024") == true, "\(huge)")
        let wide = try Self.attach(lab, AttachProducer(name: "wide", slotCount: 64, slotSize: 4096), holding: &held)
        #expect(wide.error?.contains("slot_size 4096 is above the limit (spantapd --ring-slot-size) of 2048") == true, "\(wide)")
        #expect(try lab.status().daemon.ringMemoryBytes == 0)
    }

    @Test func producersAndTheirRingMemoryAreBounded() throws {
        // Rings of 256 x 2048 B map 512 KiB + 140160 B: two fit in 1.5 MiB, a third does not.
        let (lab, _) = try DaemonLab.startedWithTap(extraArguments: ["--max-producers", "3", "--max-ring-memory", "1536KiB"])
        defer { lab.cleanUp() }
        var held: [ControlClient] = []
        for name in ["p1", "p2"] {
            let response = try Self.attach(lab, AttachProducer(name: name, slotCount: 256), holding: &held)
            #expect(response.ok, "\(response)")
        }
        let third = try Self.attach(lab, AttachProducer(name: "p3", slotCount: 256), holding: &held)
        #expect(third.error?.contains("above the limit (spantapd --max-ring-memory) of 1536KiB") == true, "\(third)")
        #expect(try Self.attach(lab, AttachProducer(name: "p3", slotCount: 2, slotSize: 64), holding: &held).ok)
        let fourth = try Self.attach(lab, AttachProducer(name: "p4", slotCount: 2, slotSize: 64), holding: &held)
        #expect(fourth.error?.contains("3 producers are attached, the limit (spantapd --max-producers) is 3") == true, "\(fourth)")
        let daemon = try lab.status().daemon
        #expect(daemon.producersAttached == 3)
        #expect(daemon.ringMemoryBytes == 2 * (140_160 + 256 * 2048) + (140_160 + 2 * 64), "each ring maps its 140160-byte header and its slots")
        #expect(daemon.controlConnections == 4, "three producers and the asking connection")
        held.removeAll()
        #expect(waitUntil { (try? lab.status().daemon.ringMemoryBytes) == 0 })
    }

    @Test func idleConnectionsAreLimitedAndTimedOut() throws {
        let (lab, _) = try DaemonLab.startedWithTap(extraArguments: ["--max-control-connections", "4", "--control-idle-timeout", "1"])
        defer { lab.cleanUp() }
        let descriptors = try lab.settledDescriptors()
        let idle = try (0..<4).map { _ in try ControlClient(path: lab.socketPath) }
        // Half a request, never finished.
        try idle[0].sendRaw(Array("{\"command\":\"sta".utf8))
        #expect(waitUntil { (try? lab.openDescriptors()) == descriptors + 4 })
        let refused = try ControlClient(path: lab.socketPath).receiveResponse().0
        #expect(refused.error == "too many control connections: 4 open, the limit is 4 (spantapd --max-control-connections)")
        #expect(waitUntil(seconds: 3) { (try? lab.status()) != nil }, "idle connections are closed after the timeout")
        #expect(waitUntil { (try? lab.openDescriptors()) == descriptors })
        withExtendedLifetime(idle) {}
    }

    @Test func aThousandIdleConnectionsLeaveNothingBehind() throws {
        let (lab, _) = try DaemonLab.startedWithTap(extraArguments: ["--control-idle-timeout", "1"])
        defer { lab.cleanUp() }
        let descriptors = try lab.settledDescriptors(), resident = try lab.residentKiB()
        for _ in 0..<5 {
            // 200 at a time stays below this process's own descriptor limit; they stay open on this
            // side until spantapd has closed every one it took (idle timeout).
            let batch = try (0..<200).map { _ in try ControlClient(path: lab.socketPath) }
            // 64 held, plus at most the one being refused at this moment.
            #expect(try lab.openDescriptors() <= descriptors + 65, "at most --max-control-connections are held")
            #expect(waitUntil(seconds: 3) { (try? lab.openDescriptors()) == descriptors })
            withExtendedLifetime(batch) {}
        }
        #expect(waitUntil(seconds: 3) { (try? lab.openDescriptors()) == descriptors })
        #expect(try lab.status().daemon.controlConnections == 1)
        #expect(try lab.residentKiB() - resident < 2048, "RSS \(resident) KiB before, \((try? lab.residentKiB()) ?? -1) KiB after")
    }
}
