/*
 * spantap_filter.h - classic BPF for producers: a validator and an interpreter, header-only.
 *
 * spantapd compiles an operator's tcpdump expression (config `input { filter "..."; }`, or a
 * Junos firewall filter translated to one) with libpcap into classic BPF, the instruction set of
 * BSD's packet filter that libpcap, tcpdump and the Linux socket filter share. A producer runs that
 * program on every frame of a mirrored interface, before sampling, so a frame the operator did not
 * ask for costs no ring slot. The program reaches a producer from spantapd, so a producer in
 * another process must not trust it: validate it once when it arrives, then run it per frame.
 * Nothing here allocates, locks, enters the kernel or divides by a value that can be zero.
 *
 * The machine (as libpcap's bpf_filter and the kernel define it):
 *   - 32-bit accumulator A, index register X, scratch memory M[0..15]; all unsigned.
 *   - The packet P: `captured` bytes of a frame whose length on the wire was `wire_length`
 *     (equal unless the frame was truncated before filtering). P[k:n] is the n-byte big-endian
 *     (network order) integer at byte offset k.
 *   - An instruction is {code, jt, jf, k}, laid out exactly as struct bpf_insn (<pcap/bpf.h>,
 *     <linux/filter.h>), so libpcap's bpf_program.bf_insns can be copied in as bytes.
 *   - Execution starts at instruction 0. Every instruction but a jump moves to the next one.
 *     A jump moves forward only: `ja` to pc + 1 + k, a conditional to pc + 1 + jt if its condition
 *     holds, else pc + 1 + jf. So a program always ends, after at most `count` instructions.
 *   - `ret` ends the program with a value: 0 rejects the frame, anything else accepts it (for a
 *     capture the value is the snap length; a producer only asks "nonzero?").
 *
 * The instructions (code = class | size/op | mode/source; "k" is the instruction's k):
 *   class LD   (0x00): A = P[k:4] (0x20), P[k:2] (0x28), P[k:1] (0x30)       absolute loads
 *                      A = P[X+k:4] (0x40), P[X+k:2] (0x48), P[X+k:1] (0x50) indexed loads
 *                      A = k (0x00), A = M[k] (0x60), A = wire_length (0x80)
 *   class LDX  (0x01): X = k (0x01), X = M[k] (0x61), X = wire_length (0x81),
 *                      X = 4 * (P[k:1] & 0xf) (0xb1: an IPv4 header's length, "msh")
 *   class ST   (0x02): M[k] = A          class STX (0x03): M[k] = X
 *   class ALU  (0x04): A = A op k (source K, 0x00) or A op X (source X, 0x08), op one of
 *                      add 0x00, sub 0x10, mul 0x20, div 0x30, or 0x40, and 0x50, lsh 0x60,
 *                      rsh 0x70, mod 0x90, xor 0xa0 (all modulo 2^32); neg 0x84: A = -A
 *   class JMP  (0x05): ja 0x05; jeq 0x10, jgt 0x20, jge 0x30, jset 0x40 (A & operand != 0),
 *                      each comparing A (unsigned) with k (| 0x00) or X (| 0x08)
 *   class RET  (0x06): return k (0x06) or return A (0x16)
 *   class MISC (0x07): tax 0x07 (X = A), txa 0x87 (A = X)
 *
 * Run-time rules, as the kernel and libpcap apply them:
 *   - A packet load whose bytes are not all inside the captured bytes ends the program with 0
 *     (reject). Indexed offsets X + k are computed without wrapping.
 *   - Division or modulo by X == 0 ends the program with 0.
 *   - A shift by X >= 32 leaves A = 0 (C leaves a shift by the width undefined; BPF does not care
 *     because compilers never emit one).
 *
 * What spantap_filter_validate() refuses (once, when a program arrives; run only what it accepted):
 *   - an empty program or one longer than SPANTAP_FILTER_MAX_INSNS;
 *   - any code not listed above (including the other LD/LDX modes and sizes, ret X);
 *   - a jump whose target lies beyond the last instruction;
 *   - a last instruction that is not a `ret` (with forward jumps in range, every path then ends
 *     in a return);
 *   - a scratch index k >= SPANTAP_FILTER_MEMWORDS, and a load of M[k] on a path where nothing
 *     stored M[k] before (so a run never reads memory it did not write: no state leaks from
 *     one frame into the next);
 *   - division or modulo by the constant 0, and a shift by a constant >= 32;
 *   - loads at Linux's special negative offsets (k >= SKF_LL_OFF, 0xffe00000, which includes the
 *     ancillary loads at SKF_AD_OFF, 0xfffff000: VLAN tag, protocol, ifindex, ...): they read
 *     kernel socket-buffer metadata that a frame in a producer does not have. libpcap emits them
 *     only for live Linux captures, never for the pcap_open_dead() handle spantapd compiles with.
 *
 * spantap_filter_run() then needs no per-instruction check besides the packet bounds: validation
 * proved every jump lands inside the program, every scratch index is in range and every divisor by
 * constant nonzero.
 */
#ifndef SPANTAP_FILTER_H
#define SPANTAP_FILTER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The longest program a producer runs (libpcap's optimized `tcp port 443 and net 10.0.0.0/8` is
 * 20; a Junos filter of many terms may need a few hundred). */
#define SPANTAP_FILTER_MAX_INSNS 256u
/* Scratch memory words M[0..15] (BPF_MEMWORDS). */
#define SPANTAP_FILTER_MEMWORDS 16u
/* Linux's special offsets start here (SKF_LL_OFF = -0x200000); ancillary loads at SKF_AD_OFF. */
#define SPANTAP_FILTER_LINUX_OFFSETS 0xffe00000u
#define SPANTAP_FILTER_LINUX_ANCILLARY 0xfffff000u

/* One instruction: the layout of struct bpf_insn and struct sock_filter. */
struct spantap_filter_insn {
    uint16_t code;
    uint8_t jt;   /* conditional jump: skip this many instructions if the condition holds */
    uint8_t jf;   /* ... and this many if it does not */
    uint32_t k;   /* the constant operand */
};

#ifdef __cplusplus
#define SPANTAP_FILTER_ASSERT static_assert
#else
#define SPANTAP_FILTER_ASSERT _Static_assert
#endif
SPANTAP_FILTER_ASSERT(sizeof(struct spantap_filter_insn) == 8, "struct bpf_insn is 8 bytes");
SPANTAP_FILTER_ASSERT(offsetof(struct spantap_filter_insn, jt) == 2, "jt follows the 16-bit code");
SPANTAP_FILTER_ASSERT(offsetof(struct spantap_filter_insn, jf) == 3, "jf follows jt");
SPANTAP_FILTER_ASSERT(offsetof(struct spantap_filter_insn, k) == 4, "k is the second word");
#undef SPANTAP_FILTER_ASSERT

/* The instruction codes the validator accepts (see the table above). */
enum spantap_filter_code {
    SPANTAP_BPF_LD_W_ABS = 0x20, SPANTAP_BPF_LD_H_ABS = 0x28, SPANTAP_BPF_LD_B_ABS = 0x30,
    SPANTAP_BPF_LD_W_IND = 0x40, SPANTAP_BPF_LD_H_IND = 0x48, SPANTAP_BPF_LD_B_IND = 0x50,
    SPANTAP_BPF_LD_IMM = 0x00, SPANTAP_BPF_LD_MEM = 0x60, SPANTAP_BPF_LD_LEN = 0x80,
    SPANTAP_BPF_LDX_IMM = 0x01, SPANTAP_BPF_LDX_MEM = 0x61, SPANTAP_BPF_LDX_LEN = 0x81,
    SPANTAP_BPF_LDX_MSH = 0xb1,
    SPANTAP_BPF_ST = 0x02, SPANTAP_BPF_STX = 0x03,
    SPANTAP_BPF_ADD_K = 0x04, SPANTAP_BPF_SUB_K = 0x14, SPANTAP_BPF_MUL_K = 0x24, SPANTAP_BPF_DIV_K = 0x34,
    SPANTAP_BPF_OR_K = 0x44, SPANTAP_BPF_AND_K = 0x54, SPANTAP_BPF_LSH_K = 0x64, SPANTAP_BPF_RSH_K = 0x74,
    SPANTAP_BPF_NEG = 0x84, SPANTAP_BPF_MOD_K = 0x94, SPANTAP_BPF_XOR_K = 0xa4,
    SPANTAP_BPF_ADD_X = 0x0c, SPANTAP_BPF_SUB_X = 0x1c, SPANTAP_BPF_MUL_X = 0x2c, SPANTAP_BPF_DIV_X = 0x3c,
    SPANTAP_BPF_OR_X = 0x4c, SPANTAP_BPF_AND_X = 0x5c, SPANTAP_BPF_LSH_X = 0x6c, SPANTAP_BPF_RSH_X = 0x7c,
    SPANTAP_BPF_MOD_X = 0x9c, SPANTAP_BPF_XOR_X = 0xac,
    SPANTAP_BPF_JA = 0x05,
    SPANTAP_BPF_JEQ_K = 0x15, SPANTAP_BPF_JGT_K = 0x25, SPANTAP_BPF_JGE_K = 0x35, SPANTAP_BPF_JSET_K = 0x45,
    SPANTAP_BPF_JEQ_X = 0x1d, SPANTAP_BPF_JGT_X = 0x2d, SPANTAP_BPF_JGE_X = 0x3d, SPANTAP_BPF_JSET_X = 0x4d,
    SPANTAP_BPF_RET_K = 0x06, SPANTAP_BPF_RET_A = 0x16,
    SPANTAP_BPF_TAX = 0x07, SPANTAP_BPF_TXA = 0x87,
};

/* Why spantap_filter_validate() refused a program. */
enum spantap_filter_verdict {
    SPANTAP_FILTER_VALID = 0,
    SPANTAP_FILTER_EMPTY,              /* count == 0 or program == NULL */
    SPANTAP_FILTER_TOO_LONG,           /* count > SPANTAP_FILTER_MAX_INSNS */
    SPANTAP_FILTER_UNKNOWN_OPCODE,
    SPANTAP_FILTER_JUMP_OUT_OF_RANGE,
    SPANTAP_FILTER_NO_FINAL_RETURN,
    SPANTAP_FILTER_BAD_SCRATCH_INDEX,  /* M[k] with k >= 16 */
    SPANTAP_FILTER_SCRATCH_UNWRITTEN,  /* M[k] read where no path stored it first */
    SPANTAP_FILTER_DIVIDE_BY_ZERO,     /* div or mod by the constant 0 */
    SPANTAP_FILTER_BAD_SHIFT,          /* shift by a constant >= 32 */
    SPANTAP_FILTER_LINUX_EXTENSION,    /* load at a Linux ancillary / special negative offset */
};

static inline const char *spantap_filter_verdict_text(enum spantap_filter_verdict verdict)
{
    switch (verdict) {
    case SPANTAP_FILTER_VALID: return "valid";
    case SPANTAP_FILTER_EMPTY: return "empty program";
    case SPANTAP_FILTER_TOO_LONG: return "program longer than the maximum instruction count";
    case SPANTAP_FILTER_UNKNOWN_OPCODE: return "unknown instruction code";
    case SPANTAP_FILTER_JUMP_OUT_OF_RANGE: return "jump beyond the last instruction";
    case SPANTAP_FILTER_NO_FINAL_RETURN: return "last instruction is not a return";
    case SPANTAP_FILTER_BAD_SCRATCH_INDEX: return "scratch memory index out of range";
    case SPANTAP_FILTER_SCRATCH_UNWRITTEN: return "scratch memory read before it is written";
    case SPANTAP_FILTER_DIVIDE_BY_ZERO: return "division by the constant 0";
    case SPANTAP_FILTER_BAD_SHIFT: return "shift by 32 or more";
    case SPANTAP_FILTER_LINUX_EXTENSION: return "Linux-only ancillary or negative-offset load";
    }
    return "unknown verdict";
}

/* Checks `program` once. Returns SPANTAP_FILTER_VALID, or why not with the index of the first
 * offending instruction in *where (when where is not NULL). Cost: one pass, 768 bytes of stack. */
static inline enum spantap_filter_verdict
spantap_filter_validate(const struct spantap_filter_insn *program, uint32_t count, uint32_t *where)
{
    /* stored[i]: bit m set when every path reaching instruction i has stored M[m]. Jumps only go
     * forward, so one pass in program order sees every predecessor of i before i. */
    uint16_t stored[SPANTAP_FILTER_MAX_INSNS];
    uint8_t reached[SPANTAP_FILTER_MAX_INSNS];
    uint32_t pc;
    enum spantap_filter_verdict verdict = SPANTAP_FILTER_VALID;

    if (where) *where = 0;
    if (program == 0 || count == 0) return SPANTAP_FILTER_EMPTY;
    if (count > SPANTAP_FILTER_MAX_INSNS) return SPANTAP_FILTER_TOO_LONG;
    for (pc = 0; pc < count; pc++) reached[pc] = 0;
    reached[0] = 1;
    stored[0] = 0;

    for (pc = 0; pc < count && verdict == SPANTAP_FILTER_VALID; pc++) {
        const struct spantap_filter_insn insn = program[pc];
        const uint32_t remaining = count - pc - 1; /* instructions after this one */
        uint16_t out = stored[pc];
        int falls_through = 1, branches = 0;
        uint32_t k = insn.k;

        if (!reached[pc]) { /* dead code: still checked, no memory facts to carry */
            stored[pc] = 0xffff;
            out = 0xffff;
        }
        switch (insn.code) {
        case SPANTAP_BPF_LD_W_ABS: case SPANTAP_BPF_LD_H_ABS: case SPANTAP_BPF_LD_B_ABS:
        case SPANTAP_BPF_LD_W_IND: case SPANTAP_BPF_LD_H_IND: case SPANTAP_BPF_LD_B_IND:
        case SPANTAP_BPF_LDX_MSH:
            if (k >= SPANTAP_FILTER_LINUX_OFFSETS) verdict = SPANTAP_FILTER_LINUX_EXTENSION;
            break;
        case SPANTAP_BPF_LD_MEM: case SPANTAP_BPF_LDX_MEM:
            if (k >= SPANTAP_FILTER_MEMWORDS) verdict = SPANTAP_FILTER_BAD_SCRATCH_INDEX;
            else if (!(out & (1u << k))) verdict = SPANTAP_FILTER_SCRATCH_UNWRITTEN;
            break;
        case SPANTAP_BPF_ST: case SPANTAP_BPF_STX:
            if (k >= SPANTAP_FILTER_MEMWORDS) verdict = SPANTAP_FILTER_BAD_SCRATCH_INDEX;
            else out = (uint16_t)(out | (1u << k));
            break;
        case SPANTAP_BPF_DIV_K: case SPANTAP_BPF_MOD_K:
            if (k == 0) verdict = SPANTAP_FILTER_DIVIDE_BY_ZERO;
            break;
        case SPANTAP_BPF_LSH_K: case SPANTAP_BPF_RSH_K:
            if (k >= 32) verdict = SPANTAP_FILTER_BAD_SHIFT;
            break;
        case SPANTAP_BPF_LD_IMM: case SPANTAP_BPF_LD_LEN: case SPANTAP_BPF_LDX_IMM: case SPANTAP_BPF_LDX_LEN:
        case SPANTAP_BPF_ADD_K: case SPANTAP_BPF_SUB_K: case SPANTAP_BPF_MUL_K: case SPANTAP_BPF_OR_K:
        case SPANTAP_BPF_AND_K: case SPANTAP_BPF_NEG: case SPANTAP_BPF_XOR_K:
        case SPANTAP_BPF_ADD_X: case SPANTAP_BPF_SUB_X: case SPANTAP_BPF_MUL_X: case SPANTAP_BPF_DIV_X:
        case SPANTAP_BPF_OR_X: case SPANTAP_BPF_AND_X: case SPANTAP_BPF_LSH_X: case SPANTAP_BPF_RSH_X:
        case SPANTAP_BPF_MOD_X: case SPANTAP_BPF_XOR_X:
        case SPANTAP_BPF_TAX: case SPANTAP_BPF_TXA:
            break;
        case SPANTAP_BPF_JA:
            falls_through = 0;
            if (k >= remaining) verdict = SPANTAP_FILTER_JUMP_OUT_OF_RANGE;
            else branches = 1;
            break;
        case SPANTAP_BPF_JEQ_K: case SPANTAP_BPF_JGT_K: case SPANTAP_BPF_JGE_K: case SPANTAP_BPF_JSET_K:
        case SPANTAP_BPF_JEQ_X: case SPANTAP_BPF_JGT_X: case SPANTAP_BPF_JGE_X: case SPANTAP_BPF_JSET_X:
            falls_through = 0;
            if (insn.jt >= remaining || insn.jf >= remaining) verdict = SPANTAP_FILTER_JUMP_OUT_OF_RANGE;
            else branches = 2;
            break;
        case SPANTAP_BPF_RET_K: case SPANTAP_BPF_RET_A:
            falls_through = 0;
            break;
        default:
            verdict = SPANTAP_FILTER_UNKNOWN_OPCODE;
            break;
        }
        if (verdict != SPANTAP_FILTER_VALID) {
            if (where) *where = pc;
            break;
        }
        if (pc + 1 == count) {
            if (insn.code != SPANTAP_BPF_RET_K && insn.code != SPANTAP_BPF_RET_A) {
                if (where) *where = pc;
                return SPANTAP_FILTER_NO_FINAL_RETURN;
            }
            break;
        }
        /* Carry what is stored to each successor: the AND over all paths into it. */
        {
            uint32_t targets[2];
            int t, n = 0;
            if (falls_through) targets[n++] = pc + 1;
            if (branches == 1) targets[n++] = pc + 1 + k;
            if (branches == 2) {
                targets[n++] = pc + 1 + insn.jt;
                targets[n++] = pc + 1 + insn.jf;
            }
            for (t = 0; t < n; t++) {
                uint32_t target = targets[t];
                if (reached[target]) {
                    stored[target] = (uint16_t)(stored[target] & out);
                } else {
                    reached[target] = 1;
                    stored[target] = out;
                }
            }
        }
    }
    return verdict;
}

/* P[offset:4], P[offset:2] with the bounds check every load gets. */
#define SPANTAP_FILTER_FITS(offset, size, captured) \
    ((offset) <= (captured) && (captured) - (offset) >= (size))

static inline uint32_t spantap_filter_load32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static inline uint32_t spantap_filter_load16(const uint8_t *p)
{
    return ((uint32_t)p[0] << 8) | (uint32_t)p[1];
}

/* Runs a program that spantap_filter_validate() accepted over the first `captured` bytes of a
 * frame that was `wire_length` bytes long. Returns the program's return value: 0 rejects the
 * frame. Running a program validation refused is undefined. */
static inline uint32_t
spantap_filter_run_captured(const struct spantap_filter_insn *program, const uint8_t *frame,
                            uint32_t captured, uint32_t wire_length)
{
    const struct spantap_filter_insn *insn = program;
    uint32_t a = 0, x = 0;
    uint32_t memory[SPANTAP_FILTER_MEMWORDS]; /* validation proved every read follows a write */
    uint64_t offset;

    for (;; insn++) {
        const uint32_t k = insn->k;
        switch (insn->code) {
        case SPANTAP_BPF_RET_K: return k;
        case SPANTAP_BPF_RET_A: return a;
        case SPANTAP_BPF_LD_W_ABS:
            if (!SPANTAP_FILTER_FITS(k, 4u, captured)) return 0;
            a = spantap_filter_load32(frame + k);
            break;
        case SPANTAP_BPF_LD_H_ABS:
            if (!SPANTAP_FILTER_FITS(k, 2u, captured)) return 0;
            a = spantap_filter_load16(frame + k);
            break;
        case SPANTAP_BPF_LD_B_ABS:
            if (k >= captured) return 0;
            a = frame[k];
            break;
        case SPANTAP_BPF_LD_W_IND:
            offset = (uint64_t)x + k;
            if (!SPANTAP_FILTER_FITS(offset, 4u, captured)) return 0;
            a = spantap_filter_load32(frame + offset);
            break;
        case SPANTAP_BPF_LD_H_IND:
            offset = (uint64_t)x + k;
            if (!SPANTAP_FILTER_FITS(offset, 2u, captured)) return 0;
            a = spantap_filter_load16(frame + offset);
            break;
        case SPANTAP_BPF_LD_B_IND:
            offset = (uint64_t)x + k;
            if (offset >= captured) return 0;
            a = frame[offset];
            break;
        case SPANTAP_BPF_LDX_MSH:
            if (k >= captured) return 0;
            x = (uint32_t)(frame[k] & 0xf) << 2;
            break;
        case SPANTAP_BPF_LD_IMM: a = k; break;
        case SPANTAP_BPF_LD_MEM: a = memory[k]; break;
        case SPANTAP_BPF_LD_LEN: a = wire_length; break;
        case SPANTAP_BPF_LDX_IMM: x = k; break;
        case SPANTAP_BPF_LDX_MEM: x = memory[k]; break;
        case SPANTAP_BPF_LDX_LEN: x = wire_length; break;
        case SPANTAP_BPF_ST: memory[k] = a; break;
        case SPANTAP_BPF_STX: memory[k] = x; break;
        case SPANTAP_BPF_ADD_K: a += k; break;
        case SPANTAP_BPF_SUB_K: a -= k; break;
        case SPANTAP_BPF_MUL_K: a *= k; break;
        case SPANTAP_BPF_DIV_K: a /= k; break;
        case SPANTAP_BPF_MOD_K: a %= k; break;
        case SPANTAP_BPF_OR_K: a |= k; break;
        case SPANTAP_BPF_AND_K: a &= k; break;
        case SPANTAP_BPF_XOR_K: a ^= k; break;
        case SPANTAP_BPF_LSH_K: a <<= k; break;
        case SPANTAP_BPF_RSH_K: a >>= k; break;
        case SPANTAP_BPF_NEG: a = 0u - a; break;
        case SPANTAP_BPF_ADD_X: a += x; break;
        case SPANTAP_BPF_SUB_X: a -= x; break;
        case SPANTAP_BPF_MUL_X: a *= x; break;
        case SPANTAP_BPF_DIV_X:
            if (x == 0) return 0;
            a /= x;
            break;
        case SPANTAP_BPF_MOD_X:
            if (x == 0) return 0;
            a %= x;
            break;
        case SPANTAP_BPF_OR_X: a |= x; break;
        case SPANTAP_BPF_AND_X: a &= x; break;
        case SPANTAP_BPF_XOR_X: a ^= x; break;
        case SPANTAP_BPF_LSH_X: a = x < 32 ? a << x : 0; break;
        case SPANTAP_BPF_RSH_X: a = x < 32 ? a >> x : 0; break;
        case SPANTAP_BPF_TAX: x = a; break;
        case SPANTAP_BPF_TXA: a = x; break;
        case SPANTAP_BPF_JA: insn += k; break;
        case SPANTAP_BPF_JEQ_K: insn += a == k ? insn->jt : insn->jf; break;
        case SPANTAP_BPF_JGT_K: insn += a > k ? insn->jt : insn->jf; break;
        case SPANTAP_BPF_JGE_K: insn += a >= k ? insn->jt : insn->jf; break;
        case SPANTAP_BPF_JSET_K: insn += (a & k) ? insn->jt : insn->jf; break;
        case SPANTAP_BPF_JEQ_X: insn += a == x ? insn->jt : insn->jf; break;
        case SPANTAP_BPF_JGT_X: insn += a > x ? insn->jt : insn->jf; break;
        case SPANTAP_BPF_JGE_X: insn += a >= x ? insn->jt : insn->jf; break;
        case SPANTAP_BPF_JSET_X: insn += (a & x) ? insn->jt : insn->jf; break;
        default: return 0; /* unreachable after validation */
        }
    }
}

/* The producer's per-frame call: the whole frame is in hand, so captured = wire length. `count`
 * is the validated length; the run never passes it (validation proved that). Nonzero: mirror. */
static inline uint32_t
spantap_filter_run(const struct spantap_filter_insn *program, uint32_t count, const uint8_t *frame, uint32_t length)
{
    (void)count;
    return spantap_filter_run_captured(program, frame, length, length);
}

#undef SPANTAP_FILTER_FITS

#ifdef __cplusplus
}
#endif

#endif /* SPANTAP_FILTER_H */
