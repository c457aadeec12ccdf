/*
 * filter_fuzz.c - hostile programs through spantap_filter.h, meant to run under
 * -fsanitize=address,undefined: nothing may crash, read outside the frame or the program, or hit
 * undefined behaviour.
 *
 * Three kinds of programs, each run over random frames (heap blocks of exactly their length, so
 * AddressSanitizer sees a load one byte past the end):
 *   - random bytes: mostly refused by validation; whatever passes is run;
 *   - random programs of known opcodes with random operands (jump offsets, scratch indices,
 *     load offsets near and beyond the frame), so many pass validation and the interpreter's
 *     bounds checks carry the load;
 *   - each of the above mutated by one byte.
 * A program validation accepts must return from every frame; the fuzzer counts how many were
 * accepted and run, and fails if too few were (the fuzzer would not be testing the interpreter).
 *
 * usage: filter_fuzz SEED ITERATIONS SECONDS   (stops at whichever limit comes first)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "spantap_filter.h"

static uint64_t state;

static uint32_t next(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (uint32_t)(state >> 11);
}

static const uint16_t known[] = {
    SPANTAP_BPF_LD_W_ABS, SPANTAP_BPF_LD_H_ABS, SPANTAP_BPF_LD_B_ABS, SPANTAP_BPF_LD_W_IND,
    SPANTAP_BPF_LD_H_IND, SPANTAP_BPF_LD_B_IND, SPANTAP_BPF_LD_IMM, SPANTAP_BPF_LD_MEM, SPANTAP_BPF_LD_LEN,
    SPANTAP_BPF_LDX_IMM, SPANTAP_BPF_LDX_MEM, SPANTAP_BPF_LDX_LEN, SPANTAP_BPF_LDX_MSH, SPANTAP_BPF_ST,
    SPANTAP_BPF_STX, SPANTAP_BPF_ADD_K, SPANTAP_BPF_SUB_K, SPANTAP_BPF_MUL_K, SPANTAP_BPF_DIV_K,
    SPANTAP_BPF_OR_K, SPANTAP_BPF_AND_K, SPANTAP_BPF_LSH_K, SPANTAP_BPF_RSH_K, SPANTAP_BPF_NEG,
    SPANTAP_BPF_MOD_K, SPANTAP_BPF_XOR_K, SPANTAP_BPF_ADD_X, SPANTAP_BPF_SUB_X, SPANTAP_BPF_MUL_X,
    SPANTAP_BPF_DIV_X, SPANTAP_BPF_OR_X, SPANTAP_BPF_AND_X, SPANTAP_BPF_LSH_X, SPANTAP_BPF_RSH_X,
    SPANTAP_BPF_MOD_X, SPANTAP_BPF_XOR_X, SPANTAP_BPF_JA, SPANTAP_BPF_JEQ_K, SPANTAP_BPF_JGT_K,
    SPANTAP_BPF_JGE_K, SPANTAP_BPF_JSET_K, SPANTAP_BPF_JEQ_X, SPANTAP_BPF_JGT_X, SPANTAP_BPF_JGE_X,
    SPANTAP_BPF_JSET_X, SPANTAP_BPF_RET_K, SPANTAP_BPF_RET_A, SPANTAP_BPF_TAX, SPANTAP_BPF_TXA,
};

/* An operand that is interesting for `code` at `pc` of `count`: mostly in range, sometimes not. */
static uint32_t operand(uint16_t code, uint32_t pc, uint32_t count)
{
    uint32_t remaining = count - pc - 1;
    switch (next() % 8) {
    case 0: return next();                                            /* anything */
    case 1: return 0xffffffffu - next() % 8;                          /* wrap-around offsets */
    case 2: return SPANTAP_FILTER_LINUX_ANCILLARY + next() % 64;     /* Linux ancillary */
    default: break;
    }
    if (code == SPANTAP_BPF_JA) return remaining ? next() % remaining : 0;
    if (code == SPANTAP_BPF_LD_MEM || code == SPANTAP_BPF_LDX_MEM || code == SPANTAP_BPF_ST || code == SPANTAP_BPF_STX)
        return next() % 18;
    if (code == SPANTAP_BPF_LSH_K || code == SPANTAP_BPF_RSH_K || code == SPANTAP_BPF_DIV_K || code == SPANTAP_BPF_MOD_K)
        return next() % 34;
    return next() % 160; /* packet offsets around the frame lengths used */
}

static void structured(struct spantap_filter_insn *program, uint32_t count)
{
    uint32_t pc;
    for (pc = 0; pc < count; pc++) {
        uint32_t remaining = count - pc - 1;
        uint16_t code = known[next() % (sizeof known / sizeof known[0])];
        if (pc + 1 == count) code = next() % 2 ? SPANTAP_BPF_RET_K : SPANTAP_BPF_RET_A;
        program[pc].code = code;
        program[pc].k = operand(code, pc, count);
        program[pc].jt = (uint8_t)(remaining && next() % 16 ? next() % (remaining < 256 ? remaining : 256) : next());
        program[pc].jf = (uint8_t)(remaining && next() % 16 ? next() % (remaining < 256 ? remaining : 256) : next());
    }
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    enum { MAX_PROGRAM = SPANTAP_FILTER_MAX_INSNS + 8 };
    unsigned long iterations, i, accepted = 0, runs = 0, nonzero = 0, refused[16] = { 0 };
    double deadline;
    if (argc != 4) {
        fprintf(stderr, "usage: filter_fuzz SEED ITERATIONS SECONDS\n");
        return 2;
    }
    state = strtoull(argv[1], NULL, 0) | 1;
    iterations = strtoul(argv[2], NULL, 0);
    deadline = now() + strtod(argv[3], NULL);

    for (i = 0; i < iterations && (i % 256 || now() < deadline); i++) {
        uint32_t count = 1 + next() % (i % 3 == 0 ? MAX_PROGRAM : 40), where, f, b;
        /* Exactly `count` instructions on the heap: a read past the program is caught too. */
        struct spantap_filter_insn *program = malloc(count * sizeof *program);
        enum spantap_filter_verdict verdict;
        if (!program) return 2;
        if (i % 3 == 1) {
            for (b = 0; b < count * sizeof *program; b++) ((uint8_t *)program)[b] = (uint8_t)next();
        } else {
            structured(program, count);
        }
        if (i % 5 == 4) ((uint8_t *)program)[next() % (count * sizeof *program)] = (uint8_t)next();
        verdict = spantap_filter_validate(program, count, &where);
        if (verdict >= 16) { fprintf(stderr, "verdict %d out of range\n", (int)verdict); return 1; }
        refused[verdict]++;
        if (verdict != SPANTAP_FILTER_VALID && where >= count) {
            fprintf(stderr, "refusal points at instruction %u of %u\n", where, count);
            return 1;
        }
        if (verdict == SPANTAP_FILTER_VALID) {
            accepted++;
            for (f = 0; f < 8; f++) {
                uint32_t length = next() % 128;
                uint8_t *frame = malloc(length ? length : 1);
                if (!frame) return 2;
                for (b = 0; b < length; b++) frame[b] = (uint8_t)next();
                if (spantap_filter_run(program, count, frame, length)) nonzero++;
                runs++;
                free(frame);
            }
        }
        free(program);
    }
    printf("programs=%lu accepted=%lu runs=%lu accepted_frames=%lu refused:", i, accepted, runs, nonzero);
    for (i = 1; i < 16; i++)
        if (refused[i]) printf(" %s=%lu", spantap_filter_verdict_text((enum spantap_filter_verdict)i), refused[i]);
    printf("\n");
    /* A fuzzer whose programs are all refused, or all reject, is not exercising the interpreter. */
    return accepted >= 100 && nonzero > 0 && nonzero < runs ? 0 : 3;
}
