import SpanTapTestSupport
import Testing

/// Random programs (raw bytes, and well-formed ones with hostile operands) through validation and
/// the interpreter, under AddressSanitizer and UBSan: a crash, an out-of-bounds read of the frame or
/// program, or undefined behaviour fails the run (filter_fuzz.c).
@Suite struct FilterFuzzTests {
    @Test(arguments: [1, 2, 3])
    func randomProgramsNeverCrashOrReadOutOfBounds(seed: Int) throws {
        let fuzzer = try compiledFixture("Tests/Fixtures/filter/filter_fuzz.c",
                                         flags: ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g", "-O1"])
        // At most 300 000 programs or 10 seconds per seed, whichever comes first.
        let output = try run(fuzzer, "\(seed * 7919)", "300000", "10")
        let accepted = output.split(separator: " ").first { $0.hasPrefix("accepted=") }.flatMap { Int($0.dropFirst(9)) } ?? 0
        #expect(accepted >= 100, "\(output)")
        #expect(output.contains("jump beyond the last instruction="), "\(output)")
        #expect(output.contains("Linux-only ancillary"), "\(output)")
    }
}
