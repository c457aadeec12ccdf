import Foundation
import Glibc
import SpanTapTestSupport
import Testing

/// `spantapd --control-group GID`: a monitoring user (here uid 65534, no capabilities) in that
/// group may ask for status and run `spantap capture`, nothing else; without the group it cannot
/// even connect. The group is a bare number, so the test adds nothing to the host's group list.
@Suite(.serialized, .enabled(if: Privileges.testsMayRun, Comment(rawValue: Privileges.skipReason)))
struct MonitorGroupTests {
    /// `spantap ARGUMENTS` through sh as uid/gid 65534, with `gid` as its one supplementary group
    /// or none: its exit status and output.
    static func asNobody(in gid: UInt32?, _ lab: DaemonLab, _ arguments: String) -> (status: Int32, output: String) {
        let spantap = DaemonLab.buildDirectory.appendingPathComponent("spantap").path
        let groups = gid.map { ["--groups", "\($0)"] } ?? ["--clear-groups"]
        do {
            let output = try run(["setpriv", "--reuid", "65534", "--regid", "65534"] + groups
                + ["sh", "-c", "exec \(spantap) --control-socket \(lab.socketPath) \(arguments)"])
            return (0, output)
        } catch let failure as CommandFailure {
            return (failure.status, failure.output)
        } catch {
            return (-1, "\(error)")
        }
    }

    @Test func aMemberOfTheControlGroupMayWatchAndCaptureButNotControl() throws {
        let gid = UInt32.random(in: 50_000...59_999)
        let (lab, _) = try DaemonLab.startedWithTap(extraArguments: ["--control-group", "\(gid)"])
        defer { lab.cleanUp() }
        var info = stat()
        #expect(lstat(lab.socketPath, &info) == 0 && info.st_mode & 0o777 == 0o660 && info.st_gid == gid,
                "socket mode \(String(info.st_mode & 0o777, radix: 8)), group \(info.st_gid)")

        let status = Self.asNobody(in: gid, lab, "status")
        #expect(status.status == 0 && status.output.contains("span1"), "\(status)")
        let reload = Self.asNobody(in: gid, lab, "reload")
        #expect(reload.status != 0 && reload.output.contains("status and capture only; reload needs root"), "\(reload)")
        let stranger = Self.asNobody(in: nil, lab, "status")
        #expect(stranger.status != 0 && stranger.output.contains("ermission denied"), "\(stranger)")

        let writable = lab.directory.appendingPathComponent("monitor")
        try FileManager.default.createDirectory(at: writable, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        let file = writable.appendingPathComponent("watch.pcapng").path
        let capture = Self.asNobody(in: gid, lab, "capture span1 --duration 1 -w \(file)")
        #expect(capture.status == 0, "\(capture)")
        var owner = stat()
        #expect(stat(file, &owner) == 0 && owner.st_uid == 65534, "the file is the monitoring user's")
        let contents = try run("capinfos", "-I", file)
        #expect(contents.contains("Number of packets = 0") && contents.contains("Number of stat entries = 1"), "\(contents)")
        #expect(lab.stop() == 0)
    }
}
