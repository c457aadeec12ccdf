/*
 * filter_oracle.c - spantap_filter.h's own verdicts, for tests/filter.rs to compare the crate's
 * validator and interpreter with. Reads (stdin, host byte order):
 *     u32 frame_count, then per frame: u32 captured, u32 wire_length, captured bytes;
 *     then programs until end of input: u32 count, count instructions (8 bytes each).
 * Writes (stdout) per program: u32 verdict, u32 where (spantap_filter_validate's), and, only
 * when the verdict is SPANTAP_FILTER_VALID, per frame the u32 spantap_filter_run_captured returned.
 * Exits 2 on malformed input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "spantap_filter.h"

struct frame {
    uint32_t captured, wire_length;
    uint8_t *bytes;
};

static int read_exactly(void *to, size_t size)
{
    return size == 0 || fread(to, 1, size, stdin) == size;
}

int main(void)
{
    uint32_t frame_count, count, f;
    if (!read_exactly(&frame_count, 4) || frame_count > 1000000) return 2;
    struct frame *frames = calloc(frame_count ? frame_count : 1, sizeof *frames);
    if (!frames) return 2;
    for (f = 0; f < frame_count; f++) {
        if (!read_exactly(&frames[f].captured, 4) || !read_exactly(&frames[f].wire_length, 4) || frames[f].captured > 65536)
            return 2;
        /* Exactly `captured` bytes on the heap (one more so a 0-byte frame has an address). */
        frames[f].bytes = malloc(frames[f].captured + 1);
        if (!frames[f].bytes || !read_exactly(frames[f].bytes, frames[f].captured)) return 2;
    }
    while (read_exactly(&count, 4)) {
        if (count > 4096) return 2;
        struct spantap_filter_insn *program = malloc((count ? count : 1) * sizeof *program);
        if (!program || !read_exactly(program, count * sizeof *program)) return 2;
        uint32_t where = 0xffffffffu;
        uint32_t verdict = (uint32_t)spantap_filter_validate(count ? program : NULL, count, &where);
        fwrite(&verdict, 4, 1, stdout);
        fwrite(&where, 4, 1, stdout);
        if (verdict == SPANTAP_FILTER_VALID) {
            for (f = 0; f < frame_count; f++) {
                uint32_t result = spantap_filter_run_captured(program, frames[f].bytes, frames[f].captured, frames[f].wire_length);
                fwrite(&result, 4, 1, stdout);
            }
        }
        free(program);
    }
    return fflush(stdout) == 0 ? 0 : 2;
}
