/*
 * filter_bench.c - one compiled tcpdump expression over every frame of a pcap file, ROUNDS
 * times, through spantap_filter.h ("spantap": what a producer runs) or libpcap's own
 * pcap_offline_filter ("libpcap"), on the same frames in the same process. Bench row 8
 * (docs/BENCHMARKS.md): timed for ns per frame, and under callgrind for instructions per frame
 * (main's inclusive count at ROUNDS N and 2N; the frames' loading cancels out).
 *
 * Build: cc -O2 -I Sources/CSpanTapRing/include -o filter_bench filter_bench.c -lpcap
 * Run:   filter_bench PCAP EXPRESSION spantap|libpcap ROUNDS
 *        -> interpreter=.. frames=.. accepted=.. ns_per_frame=..
 */
#define _DEFAULT_SOURCE /* <pcap/pcap.h> uses the BSD types u_int, u_char */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "spantap_filter.h"

enum { MAX_FRAMES = 8192 };

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    static struct pcap_pkthdr headers[MAX_FRAMES];
    static unsigned char *frames[MAX_FRAMES];
    char errors[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *header;
    const unsigned char *data;
    struct bpf_program program;
    unsigned long accepted = 0;
    int count = 0;

    if (argc != 5 || (strcmp(argv[3], "spantap") != 0 && strcmp(argv[3], "libpcap") != 0)) {
        fprintf(stderr, "usage: filter_bench PCAP EXPRESSION spantap|libpcap ROUNDS\n");
        return 2;
    }
    pcap_t *file = pcap_open_offline(argv[1], errors);
    if (!file) {
        fprintf(stderr, "%s\n", errors);
        return 2;
    }
    while (count < MAX_FRAMES && pcap_next_ex(file, &header, &data) == 1) {
        headers[count] = *header;
        if (!(frames[count] = malloc(header->caplen ? header->caplen : 1)))
            return 2;
        memcpy(frames[count], data, header->caplen);
        count++;
    }
    /* As spantapd compiles: Ethernet, optimized, the default snap length. */
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 262144);
    if (pcap_compile(dead, &program, argv[2], 1, PCAP_NETMASK_UNKNOWN) != 0) {
        fprintf(stderr, "%s\n", pcap_geterr(dead));
        return 2;
    }
    const struct spantap_filter_insn *ours = (const struct spantap_filter_insn *)program.bf_insns;
    if (spantap_filter_validate(ours, program.bf_len, NULL) != SPANTAP_FILTER_VALID)
        return 2;
    int spantap = strcmp(argv[3], "spantap") == 0;
    long rounds = atol(argv[4]);
    double start = now_ns();
    for (long round = 0; round < rounds; round++) {
        for (int i = 0; i < count; i++) {
            accepted += spantap ? spantap_filter_run_captured(ours, frames[i], headers[i].caplen, headers[i].len) != 0
                                : pcap_offline_filter(&program, &headers[i], frames[i]) != 0;
        }
    }
    double elapsed = now_ns() - start;
    printf("interpreter=%s frames=%d instructions=%u accepted=%lu ns_per_frame=%.3f\n", argv[3], count, program.bf_len,
           accepted, rounds > 0 ? elapsed / ((double)rounds * count) : 0.0);
    return 0;
}
