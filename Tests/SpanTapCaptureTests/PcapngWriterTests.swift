import Foundation
import SpanTapCapture
import SpanTapTestSupport
import Testing

/// The pcapng writer judged by Wireshark's own readers: a fixture with two interfaces, both
/// directions, a clipped frame and frame lengths that need padding, read back by tshark and capinfos.
@Suite struct PcapngWriterTests {
    /// Frames of lengths 60, 61, 62, 63 (every padding case) and one clipped to 64 of 1514.
    static func fixture() -> [UInt8] {
        var writer = PcapngWriter()
        var file = writer.sectionHeader(userApplication: "spantap test")
        let (a, idbA) = writer.interfaceDescription(name: "fwd-a", description: "instance span1", snapLength: 0)
        let (b, idbB) = writer.interfaceDescription(name: "fwd-b", description: "instance span1", snapLength: 64)
        file += idbA + idbB
        let start: UInt64 = 1_765_000_000_123_456_789
        let frames: [(UInt32, PcapngWriter.Direction, [UInt8], UInt32)] = [
            (a, .inbound, EthernetFrames.ipv4(total: 60), 60),
            (b, .outbound, EthernetFrames.ipv4(total: 61), 61),
            (a, .outbound, EthernetFrames.ipv4(total: 62), 62),
            (b, .inbound, EthernetFrames.ipv4(total: 63), 63),
            (b, .inbound, Array(EthernetFrames.ipv4(total: 1514).prefix(64)), 1514),
        ]
        for (index, (interface, direction, bytes, original)) in frames.enumerated() {
            file += bytes.withUnsafeBytes {
                writer.enhancedPacket(interface: interface, timestamp: start + UInt64(index) * 1000, direction: direction,
                                      originalLength: original, frame: $0)
            }
        }
        file += writer.interfaceStatistics(interface: a, .init(startTime: start, endTime: start + 9000, received: 3, dropped: 1, delivered: 2))
        file += writer.interfaceStatistics(interface: b, .init(startTime: start, endTime: start + 9000, received: 3, dropped: 0, delivered: 3))
        return file
    }

    static func write(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "\(uniqueName("pcapng")).pcapng"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func tsharkReadsInterfaceDirectionAndLengthsOfEveryFrame() throws {
        let path = try Self.write(Self.fixture())
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fields = try run("tshark", "-r", path, "-T", "fields", "-e", "frame.interface_name", "-e", "frame.packet_flags_direction",
                             "-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.time_epoch")
        // `run` merges stderr (tshark's "running as root" note): rows are the lines with fields.
        let rows = fields.split(separator: "\n").filter { $0.contains("\t") }.map { $0.split(separator: "\t").map(String.init) }
        #expect(rows.map { Array($0.prefix(4)) } == [
            ["fwd-a", "0x00000001", "60", "60"],
            ["fwd-b", "0x00000002", "61", "61"],
            ["fwd-a", "0x00000002", "62", "62"],
            ["fwd-b", "0x00000001", "63", "63"],
            ["fwd-b", "0x00000001", "1514", "64"],
        ])
        // if_tsresol 9: nanoseconds survive (tshark prints them all).
        #expect(rows.first?.last?.hasSuffix(".123456789") == true)
    }

    @Test func capinfosReadsTheFileWithoutWarningsAndShowsTheSection() throws {
        let path = try Self.write(Self.fixture())
        defer { try? FileManager.default.removeItem(atPath: path) }
        let info = try run("capinfos", "-c", "-I", "-F", path)
        #expect(!info.lowercased().contains("warn") && !info.lowercased().contains("error"), "\(info)")
        #expect(info.contains("Number of packets:   5") || info.contains("Number of packets = 5"), "\(info)")
        #expect(info.contains("spantap test"), "\(info)")
        #expect(info.contains("fwd-a") && info.contains("fwd-b"), "\(info)")
    }

    /// capinfos counts one ISB per interface; their option values are checked byte by byte below.
    @Test func capinfosFindsOneStatisticsBlockPerInterface() throws {
        let path = try Self.write(Self.fixture())
        defer { try? FileManager.default.removeItem(atPath: path) }
        let stats = try run("capinfos", "-I", path)
        #expect(stats.components(separatedBy: "Number of stat entries = 1").count == 3, "\(stats)")
    }

    /// The ISBs' options: isb_starttime, isb_ifrecv, isb_ifdrop, isb_usrdeliv, in pcapng's layout.
    @Test func isbOptionsCarryTheCounts() throws {
        let statistics = PcapngStatistics.read(Self.fixture())
        #expect(statistics.map(\.interface) == [0, 1])
        #expect(statistics.first?.received == 3 && statistics.first?.dropped == 1 && statistics.first?.delivered == 2)
        #expect(statistics.first?.startTime == 1_765_000_000_123_456_789)
    }

    /// A rotated file's ISB does not know its drops: isb_ifdrop is left out, the rest stays.
    @Test func isbWithoutDropsLeavesTheOptionOut() {
        let block = PcapngWriter().interfaceStatistics(interface: 1, .init(startTime: 5, endTime: 9, received: 4, dropped: nil, delivered: 4))
        let statistics = PcapngStatistics.read(block)
        #expect(statistics.count == 1 && statistics.first?.interface == 1)
        #expect(statistics.first?.dropped == nil && statistics.first?.received == 4 && statistics.first?.delivered == 4)
        #expect(block.count == PcapngWriter().interfaceStatistics(interface: 1, .init(
            startTime: 5, endTime: 9, received: 4, dropped: 0, delivered: 4)).count - 12)
    }

    /// Block framing checked byte by byte: every block's two length words agree and are a multiple
    /// of 4, and the blocks tile the file exactly.
    @Test func blocksTileTheFileAndTheirLengthsAgree() {
        let file = Self.fixture()
        var offset = 0, types: [UInt32] = []
        func word(_ at: Int) -> UInt32 { file[at..<at + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        while offset < file.count {
            let length = Int(word(offset + 4))
            #expect(length % 4 == 0 && length >= 12)
            #expect(word(offset + length - 4) == UInt32(length))
            types.append(word(offset))
            offset += length
        }
        #expect(offset == file.count)
        #expect(types == [0x0A0D_0D0A, 1, 1, 6, 6, 6, 6, 6, 5, 5])
    }

    @Test func captureMessageRoundTripsAndRefusesDisagreeingLengths() {
        let header = CaptureMessage(ifindex: 7, direction: 1, originalLength: 1514, capturedLength: 3, timestampNanoseconds: 42)
        var bytes = [UInt8](repeating: 0, count: CaptureMessage.headerSize + 3)
        bytes.withUnsafeMutableBytes { header.encode(into: $0.baseAddress!) }
        #expect(bytes.withUnsafeBytes { CaptureMessage(decoding: $0) } == header)
        #expect(bytes.dropLast().withUnsafeBytes { CaptureMessage(decoding: UnsafeRawBufferPointer($0)) } == nil)
    }

    @Test func wallClockOffsetIsWithinItsStatedBound() {
        let clock = WallClock()
        #expect(clock.uncertainty < 1_000_000)
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let monotonic = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
        let derived = clock.wallTime(monotonic: monotonic), real = WallClock.now()
        #expect(real >= derived ? real - derived < 10_000_000 : derived - real < 10_000_000)
    }
}
