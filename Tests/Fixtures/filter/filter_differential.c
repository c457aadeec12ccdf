/*
 * filter_differential.c - libpcap's own interpreter judges spantap_filter.h.
 *
 * For every expression of EXPRESSIONS: compile it as spantapd does (pcap_open_dead for Ethernet,
 * pcap_compile with PCAP_NETMASK_UNKNOWN), optimized and unoptimized (the unoptimized program uses
 * scratch memory and more instruction kinds), validate both with spantap_filter_validate, and run
 * both over every frame of PCAP through pcap_offline_filter and spantap_filter_run_captured. Any
 * difference in the returned value is a failure, printed with the expression and frame number. An
 * expression that matches every frame or none is a failure too: the fixture would not test it.
 *
 * Writes VERDICTS: per expression a line `expression<TAB>program<TAB>verdicts`, the optimized
 * program as `tcpdump -ddd` prints it (count, then code jt jf k per instruction, comma-separated)
 * and one character per frame (1: accepted, 0: rejected), for other implementations to check.
 *
 * usage: filter_differential EXPRESSIONS PCAP VERDICTS
 * Each frame is copied into a heap block of exactly its captured size, so under AddressSanitizer
 * a load one byte past the frame is caught.
 */
#define _DEFAULT_SOURCE /* <pcap/pcap.h> uses the BSD types u_int, u_char */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "spantap_filter.h"

struct captured_frame {
    struct pcap_pkthdr header;
    unsigned char *bytes;
};

static int compile(const char *expression, int optimize, struct bpf_program *program)
{
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
    int ok = dead && pcap_compile(dead, program, expression, optimize, PCAP_NETMASK_UNKNOWN) == 0;
    if (!ok) fprintf(stderr, "'%s': pcap_compile: %s\n", expression, dead ? pcap_geterr(dead) : "pcap_open_dead failed");
    if (dead) pcap_close(dead);
    return ok;
}

/* Compares one program over all frames; returns the number of mismatches, fills verdicts. */
static unsigned compare(const char *expression, const struct bpf_program *program, const struct captured_frame *frames,
                        size_t count, char *verdicts, size_t *accepted)
{
    const struct spantap_filter_insn *insns = (const struct spantap_filter_insn *)program->bf_insns;
    uint32_t where;
    enum spantap_filter_verdict verdict = spantap_filter_validate(insns, program->bf_len, &where);
    unsigned mismatches = 0;
    size_t i;
    if (verdict != SPANTAP_FILTER_VALID) {
        fprintf(stderr, "'%s': spantap_filter_validate refused libpcap's program at %u: %s\n", expression, where,
                spantap_filter_verdict_text(verdict));
        return 1;
    }
    *accepted = 0;
    for (i = 0; i < count; i++) {
        unsigned theirs = (unsigned)pcap_offline_filter(program, &frames[i].header, frames[i].bytes);
        unsigned ours = spantap_filter_run_captured(insns, frames[i].bytes, frames[i].header.caplen, frames[i].header.len);
        if (theirs != ours) {
            if (mismatches++ < 5)
                fprintf(stderr, "'%s': frame %zu (caplen %u, len %u): libpcap %u, spantap %u\n", expression, i,
                        frames[i].header.caplen, frames[i].header.len, theirs, ours);
        }
        if (verdicts) verdicts[i] = ours ? '1' : '0';
        if (ours) (*accepted)++;
    }
    return mismatches;
}

int main(int argc, char **argv)
{
    char errors[PCAP_ERRBUF_SIZE], line[512];
    struct captured_frame *frames = NULL;
    size_t count = 0, capacity = 0, expressions = 0;
    unsigned failures = 0;
    struct pcap_pkthdr *header;
    const unsigned char *data;
    FILE *list, *out;
    char *verdicts;
    pcap_t *file;

    if (argc != 4) {
        fprintf(stderr, "usage: filter_differential EXPRESSIONS PCAP VERDICTS\n");
        return 2;
    }
    if (!(file = pcap_open_offline(argv[2], errors))) { fprintf(stderr, "%s\n", errors); return 2; }
    while (pcap_next_ex(file, &header, &data) == 1) {
        if (count == capacity) {
            capacity = capacity ? 2 * capacity : 1024;
            frames = realloc(frames, capacity * sizeof *frames);
            if (!frames) return 2;
        }
        frames[count].header = *header;
        frames[count].bytes = malloc(header->caplen ? header->caplen : 1);
        if (!frames[count].bytes) return 2;
        memcpy(frames[count].bytes, data, header->caplen);
        count++;
    }
    pcap_close(file);
    if (!(list = fopen(argv[1], "r"))) { perror(argv[1]); return 2; }
    if (!(out = fopen(argv[3], "w"))) { perror(argv[3]); return 2; }
    if (!(verdicts = malloc(count + 1))) return 2;
    verdicts[count] = 0;

    while (fgets(line, sizeof line, list)) {
        struct bpf_program optimized, plain;
        size_t accepted = 0, plain_accepted = 0;
        unsigned i;
        line[strcspn(line, "\n")] = 0;
        if (line[0] == 0 || line[0] == '#') continue;
        expressions++;
        if (!compile(line, 1, &optimized)) { failures++; continue; }
        if (!compile(line, 0, &plain)) { failures++; pcap_freecode(&optimized); continue; }
        failures += compare(line, &optimized, frames, count, verdicts, &accepted) ? 1 : 0;
        failures += compare(line, &plain, frames, count, NULL, &plain_accepted) ? 1 : 0;
        if (accepted == 0 || accepted == count) {
            fprintf(stderr, "'%s' accepts %zu of %zu frames: the fixture does not exercise it\n", line, accepted, count);
            failures++;
        }
        printf("%-50s %4u/%-4u insns  %5zu of %zu accepted\n", line, optimized.bf_len, plain.bf_len, accepted, count);
        fprintf(out, "%s\t%u", line, optimized.bf_len);
        for (i = 0; i < optimized.bf_len; i++)
            fprintf(out, ",%u %u %u %u", optimized.bf_insns[i].code, optimized.bf_insns[i].jt, optimized.bf_insns[i].jf,
                    optimized.bf_insns[i].k);
        fprintf(out, "\t%s\n", verdicts);
        pcap_freecode(&optimized);
        pcap_freecode(&plain);
    }
    fclose(list);
    fclose(out);
    printf("expressions=%zu frames=%zu failures=%u\n", expressions, count, failures);
    while (count) free(frames[--count].bytes);
    free(frames);
    free(verdicts);
    return failures ? 1 : 0;
}
