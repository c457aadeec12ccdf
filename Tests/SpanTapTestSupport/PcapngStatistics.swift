import Foundation

/// The Interface Statistics Blocks of a little-endian pcapng file, decoded by hand: tshark and
/// capinfos read them but print only how many there are, not their counts.
public struct PcapngStatistics: Equatable {
    public let interface: UInt32
    /// Option code -> value, for the 8-byte options (isb_starttime 2 and isb_endtime 3 as pcapng
    /// stores them, high word first; isb_ifrecv 4, isb_ifdrop 5, isb_usrdeliv 8).
    public let options: [UInt16: UInt64]

    public var received: UInt64? { options[4] }
    public var dropped: UInt64? { options[5] }
    public var delivered: UInt64? { options[8] }
    public var startTime: UInt64? { options[2].map { ($0 & 0xffff_ffff) << 32 | $0 >> 32 } }

    public static func read(_ file: [UInt8]) -> [PcapngStatistics] {
        func word(_ at: Int) -> UInt32 { file[at..<at + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        var blocks: [PcapngStatistics] = [], offset = 0
        while offset + 12 <= file.count {
            let length = Int(word(offset + 4))
            guard length >= 12, offset + length <= file.count else { break }
            if word(offset) == 5 {
                var option = offset + 8 + 12, options: [UInt16: UInt64] = [:]
                while option + 4 <= offset + length - 4, word(option) & 0xffff != 0 {
                    let code = UInt16(word(option) & 0xffff), size = Int(word(option) >> 16)
                    if size == 8 { options[code] = UInt64(word(option + 4)) | UInt64(word(option + 8)) << 32 }
                    option += 4 + (size + 3) / 4 * 4
                }
                blocks.append(PcapngStatistics(interface: word(offset + 8), options: options))
            }
            offset += length
        }
        return blocks
    }

    public static func read(path: String) throws -> [PcapngStatistics] {
        read(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    }
}
