import CLibPcap
import CSpanTapRing
import SpanTapRing
import Synchronization

/// Compiles tcpdump expressions to producer programs with libpcap, exactly as `tcpdump -i PORT`
/// would for an Ethernet port: `pcap_open_dead(DLT_EN10MB, snaplen)` and an optimized
/// `pcap_compile` with no netmask (so `ip broadcast` is refused, as tcpdump refuses it without
/// one). The frame is seen as on the wire, VLAN tags included. The program must also pass
/// spantap_filter.h's validator, since that is what every producer will run it through.
public enum FilterCompiler {
    /// libpcap's compiler keeps global state in versions before 1.8 and its optimizer is not
    /// documented as thread-safe: one compilation at a time.
    private static let compiling = Mutex(())

    /// The snap length compiled into the program's accepting `ret` (libpcap's default).
    public static let defaultSnapLength = 262_144

    public static func compile(_ expression: String, snapLength: Int = defaultSnapLength) throws(FilterError) -> FilterProgram {
        let result: Result<FilterProgram, FilterError> = compiling.withLock { _ in
            guard let dead = pcap_open_dead(DLT_EN10MB, Int32(clamping: snapLength > 0 ? snapLength : defaultSnapLength)) else {
                return .failure(FilterError("libpcap could not open a compiler handle"))
            }
            defer { pcap_close(dead) }
            var program = bpf_program()
            guard pcap_compile(dead, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
                return .failure(FilterError(String(cString: pcap_geterr(dead))))
            }
            defer { pcap_freecode(&program) }
            let compiled = UnsafeBufferPointer(start: program.bf_insns, count: Int(program.bf_len))
            return FilterProgram.validated(compiled.map { spantap_filter_insn(code: $0.code, jt: $0.jt, jf: $0.jf, k: $0.k) })
        }
        return try result.get()
    }
}
