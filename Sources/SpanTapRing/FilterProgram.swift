import CSpanTapRing

/// A classic BPF program that spantap_filter.h's validator accepted: what a producer runs on every
/// frame of a filtered selection before sampling. The instructions have `struct bpf_insn`'s layout,
/// so they go into a ring (or anywhere a C program reads them) as they are.
public struct FilterProgram: Equatable, Sendable, CustomStringConvertible {
    public let instructions: [spantap_filter_insn]

    /// Validates `instructions` as a producer will; nil with the reason when a producer would refuse them.
    public static func validated(_ instructions: [spantap_filter_insn]) -> Result<FilterProgram, FilterError> {
        var offending: UInt32 = 0
        let verdict = instructions.withUnsafeBufferPointer {
            spantap_filter_validate($0.baseAddress, UInt32(clamping: $0.count), &offending)
        }
        guard verdict == SPANTAP_FILTER_VALID else {
            return .failure(FilterError(verdict: verdict, instruction: Int(offending), count: instructions.count))
        }
        return .success(FilterProgram(instructions: instructions))
    }

    private init(instructions: [spantap_filter_insn]) { self.instructions = instructions }

    /// Runs the program over `frame` as a producer does: nonzero accepts. `wireLength` is the frame's
    /// length on the wire when `frame` holds only the first bytes of it (a truncated capture).
    public func run(_ frame: UnsafeRawBufferPointer, wireLength: Int? = nil) -> UInt32 {
        instructions.withUnsafeBufferPointer { program in
            spantap_filter_run_captured(program.baseAddress, frame.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                        UInt32(frame.count), UInt32(wireLength ?? frame.count))
        }
    }

    public func accepts(_ frame: [UInt8]) -> Bool {
        frame.withUnsafeBytes { run($0) } != 0
    }

    /// As `tcpdump -ddd` prints a program: the count, then `code jt jf k` per instruction.
    public var description: String {
        ([String(instructions.count)] + instructions.map { "\($0.code) \($0.jt) \($0.jf) \($0.k)" }).joined(separator: "\n")
    }

    public static func == (left: FilterProgram, right: FilterProgram) -> Bool {
        left.instructions.count == right.instructions.count && zip(left.instructions, right.instructions).allSatisfy {
            $0.code == $1.code && $0.jt == $1.jt && $0.jf == $1.jf && $0.k == $1.k
        }
    }
}
