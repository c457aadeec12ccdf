/*
 * filter_cost.c - runs one compiled expression over every frame of a pcap file, ROUNDS times,
 * through spantap_filter.h ("spantap") or libpcap's pcap_offline_filter ("libpcap"), so that
 * callgrind can count the instructions each interpreter spends per frame (the difference between
 * ROUNDS=N and ROUNDS=0 runs, divided by N x frames). Prints the accepted count and frame count.
 *
 * usage: filter_cost PCAP EXPRESSION spantap|libpcap ROUNDS
 */
#define _DEFAULT_SOURCE /* <pcap/pcap.h> uses the BSD types u_int, u_char */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "spantap_filter.h"

enum { MAX_FRAMES = 8192 };

int main(int argc, char **argv)
{
    static struct pcap_pkthdr headers[MAX_FRAMES];
    static unsigned char *frames[MAX_FRAMES];
    char errors[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *header;
    const unsigned char *data;
    struct bpf_program program;
    unsigned long accepted = 0;
    int count = 0, rounds, ours, round, i;
    pcap_t *file, *dead;

    if (argc != 5) {
        fprintf(stderr, "usage: filter_cost PCAP EXPRESSION spantap|libpcap ROUNDS\n");
        return 2;
    }
    if (!(file = pcap_open_offline(argv[1], errors))) { fprintf(stderr, "%s\n", errors); return 2; }
    while (count < MAX_FRAMES && pcap_next_ex(file, &header, &data) == 1) {
        headers[count] = *header;
        if (!(frames[count] = malloc(header->caplen ? header->caplen : 1))) return 2;
        memcpy(frames[count], data, header->caplen);
        count++;
    }
    dead = pcap_open_dead(DLT_EN10MB, 65535);
    if (pcap_compile(dead, &program, argv[2], 1, PCAP_NETMASK_UNKNOWN) != 0) { fprintf(stderr, "%s\n", pcap_geterr(dead)); return 2; }
    if (spantap_filter_validate((const struct spantap_filter_insn *)program.bf_insns, program.bf_len, NULL) != SPANTAP_FILTER_VALID) return 2;
    ours = strcmp(argv[3], "spantap") == 0;
    rounds = atoi(argv[4]);
    for (round = 0; round < rounds; round++) {
        for (i = 0; i < count; i++) {
            accepted += ours ? spantap_filter_run_captured((const struct spantap_filter_insn *)program.bf_insns, frames[i],
                                                           headers[i].caplen, headers[i].len) != 0
                             : pcap_offline_filter(&program, &headers[i], frames[i]) != 0;
        }
    }
    printf("accepted=%lu frames=%d\n", accepted, count);
    return 0;
}
