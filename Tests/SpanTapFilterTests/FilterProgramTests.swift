import CSpanTapRing
import Foundation
import SpanTapFilter
import SpanTapRing
import SpanTapTestSupport
import Testing

/// What the validator refuses, one rule at a time, and what FilterCompiler makes of expressions.
@Suite struct FilterProgramTests {
    static func insn(_ code: UInt32, _ k: UInt32 = 0, _ jt: UInt8 = 0, _ jf: UInt8 = 0) -> spantap_filter_insn {
        spantap_filter_insn(code: UInt16(code), jt: jt, jf: jf, k: k)
    }

    static func verdict(_ program: [spantap_filter_insn]) -> (spantap_filter_verdict, UInt32) {
        var at: UInt32 = 99
        let verdict = program.withUnsafeBufferPointer { spantap_filter_validate($0.baseAddress, UInt32($0.count), &at) }
        return (verdict, at)
    }

    static let accept = insn(SPANTAP_BPF_RET_K.rawValue, 1)

    @Test func eachRefusalNamesTheInstruction() {
        let cases: [([spantap_filter_insn], spantap_filter_verdict, UInt32)] = [
            ([], SPANTAP_FILTER_EMPTY, 0),
            (Array(repeating: Self.accept, count: Int(SPANTAP_FILTER_MAX_INSNS) + 1), SPANTAP_FILTER_TOO_LONG, 0),
            ([Self.insn(0x28 | 0x80 as UInt32), Self.accept], SPANTAP_FILTER_UNKNOWN_OPCODE, 0),        // ld len of size h
            ([Self.insn(0x0e), Self.accept], SPANTAP_FILTER_UNKNOWN_OPCODE, 0),                  // ret x
            ([Self.insn(SPANTAP_BPF_JA.rawValue, 1), Self.accept], SPANTAP_FILTER_JUMP_OUT_OF_RANGE, 0),
            ([Self.insn(SPANTAP_BPF_JA.rawValue, UInt32.max), Self.accept], SPANTAP_FILTER_JUMP_OUT_OF_RANGE, 0),
            ([Self.insn(SPANTAP_BPF_JEQ_K.rawValue, 0, 0, 1), Self.accept], SPANTAP_FILTER_JUMP_OUT_OF_RANGE, 0),
            ([Self.accept, Self.insn(SPANTAP_BPF_LD_IMM.rawValue)], SPANTAP_FILTER_NO_FINAL_RETURN, 1),
            ([Self.insn(SPANTAP_BPF_ST.rawValue, 16), Self.accept], SPANTAP_FILTER_BAD_SCRATCH_INDEX, 0),
            ([Self.insn(SPANTAP_BPF_LD_MEM.rawValue, 3), Self.accept], SPANTAP_FILTER_SCRATCH_UNWRITTEN, 0),
            ([Self.insn(SPANTAP_BPF_DIV_K.rawValue, 0), Self.accept], SPANTAP_FILTER_DIVIDE_BY_ZERO, 0),
            ([Self.insn(SPANTAP_BPF_MOD_K.rawValue, 0), Self.accept], SPANTAP_FILTER_DIVIDE_BY_ZERO, 0),
            ([Self.insn(SPANTAP_BPF_LSH_K.rawValue, 32), Self.accept], SPANTAP_FILTER_BAD_SHIFT, 0),
            // SKF_AD_OFF + SKF_AD_VLAN_TAG (44): what a live Linux capture's `vlan` may use.
            ([Self.insn(SPANTAP_BPF_LD_W_ABS.rawValue, 0xffff_f000 + 44), Self.accept], SPANTAP_FILTER_LINUX_EXTENSION, 0),
            ([Self.insn(SPANTAP_BPF_LD_B_IND.rawValue, 0xffe0_0000), Self.accept], SPANTAP_FILTER_LINUX_EXTENSION, 0),
        ]
        for (program, expected, at) in cases {
            let (verdict, where_) = Self.verdict(program)
            #expect(verdict == expected, "\(program.map(\.code))")
            #expect(where_ == at, "\(program.map(\.code))")
        }
    }

    /// M[k] must be stored on every path before it is read: a store on one branch only is refused,
    /// a store before the branch is not.
    @Test func scratchMemoryMustBeWrittenOnEveryPath() {
        let oneBranch = [Self.insn(SPANTAP_BPF_JEQ_K.rawValue, 0, 0, 1), Self.insn(SPANTAP_BPF_ST.rawValue, 2),
                         Self.insn(SPANTAP_BPF_LDX_MEM.rawValue, 2), Self.accept]
        #expect(Self.verdict(oneBranch) == (SPANTAP_FILTER_SCRATCH_UNWRITTEN, 2))
        let bothPaths = [Self.insn(SPANTAP_BPF_ST.rawValue, 2), Self.insn(SPANTAP_BPF_JEQ_K.rawValue, 0, 0, 1),
                         Self.insn(SPANTAP_BPF_ST.rawValue, 5), Self.insn(SPANTAP_BPF_LDX_MEM.rawValue, 2), Self.accept]
        #expect(Self.verdict(bothPaths).0 == SPANTAP_FILTER_VALID)
    }

    /// Out-of-range loads reject, division by X == 0 rejects, as the kernel and libpcap do.
    @Test func runTimeRules() throws {
        let loadsByte9 = try FilterProgram.validated([Self.insn(SPANTAP_BPF_LD_B_ABS.rawValue, 9),
                                                      Self.insn(SPANTAP_BPF_RET_A.rawValue)]).get()
        #expect(loadsByte9.run(UnsafeRawBufferPointer(start: nil, count: 0)) == 0)
        #expect(!loadsByte9.accepts(Array(repeating: 7, count: 9)))
        #expect([UInt8](repeating: 7, count: 10).withUnsafeBytes { loadsByte9.run($0) } == 7)
        let divides = try FilterProgram.validated([Self.insn(SPANTAP_BPF_LD_IMM.rawValue, 100), Self.insn(SPANTAP_BPF_LDX_LEN.rawValue),
                                                   Self.insn(SPANTAP_BPF_DIV_X.rawValue), Self.insn(SPANTAP_BPF_RET_A.rawValue)]).get()
        #expect(divides.run(UnsafeRawBufferPointer(start: nil, count: 0)) == 0)
        #expect([UInt8](repeating: 0, count: 50).withUnsafeBytes { divides.run($0) } == 2)
    }

    @Test func compilesTcpdumpExpressions() throws {
        let program = try FilterCompiler.compile("tcp port 443 and net 10.0.0.0/8", snapLength: 128)
        #expect(program.instructions.count == 20)
        #expect(program.instructions.last.map { $0.code == UInt16(SPANTAP_BPF_RET_K.rawValue) && $0.k == 0 } == true)
        #expect(program.instructions.contains { $0.code == UInt16(SPANTAP_BPF_RET_K.rawValue) && $0.k == 128 })
        let https = IPFrames.frame(source: [10, 1, 2, 3], destination: [192, 168, 1, 1], .tcp(source: 50000, destination: 443))
        #expect(program.accepts(https))
        #expect(!program.accepts(IPFrames.frame(source: [11, 1, 2, 3], destination: [192, 168, 1, 1], .tcp(source: 50000, destination: 443))))
        #expect(!program.accepts(IPFrames.frame(source: [10, 1, 2, 3], destination: [192, 168, 1, 1], .tcp(source: 50000, destination: 80))))
        #expect(!program.accepts(IPFrames.frame(source: [10, 1, 2, 3], destination: [192, 168, 1, 1], .udp(source: 50000, destination: 443))))
        #expect(!program.accepts(Array(https.prefix(30))), "a frame cut inside the IP header is rejected")
    }

    @Test func libpcapsMessageForABadExpression() {
        #expect(throws: FilterError("can't parse filter expression: syntax error")) {
            try FilterCompiler.compile("tcp port")
        }
        #expect(throws: FilterError("unknown host 'nosuchname.invalid'")) { try FilterCompiler.compile("host nosuchname.invalid") }
        // No netmask, as tcpdump -i on a port without an address: libpcap refuses broadcast.
        #expect(throws: (any Error).self) { try FilterCompiler.compile("ip broadcast") }
    }

    /// The header is also a C++17 header (a forwarder in C++ includes it as is).
    @Test func headerCompilesAsCPlusPlus17() throws {
        let source = buildDirectory.appendingPathComponent("spantap-filter-cxx.cpp")
        try "#include \"spantap_filter.h\"\nint main() { spantap_filter_insn p[1] = {{6, 0, 0, 1}}; "
            .appending("return spantap_filter_validate(p, 1, nullptr) == SPANTAP_FILTER_VALID && spantap_filter_run(p, 1, nullptr, 0) == 1 ? 0 : 1; }\n")
            .write(to: source, atomically: true, encoding: .utf8)
        let binary = buildDirectory.appendingPathComponent("spantap-filter-cxx").path
        try run("c++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I",
                packageRoot.appendingPathComponent("Sources/CSpanTapRing/include").path, "-o", binary, source.path)
        try run(binary)
    }
}
