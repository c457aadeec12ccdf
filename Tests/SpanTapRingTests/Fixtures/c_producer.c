/* A producer in another language and another process: built by the tests from spantap_ring.h
 * alone. Usage: c_producer COUNT [SNAP [BATCH]]. The ring's memfd is fd 3 and its eventfd fd 4.
 * Frames are TestFrames.swift's pattern and rules CProducerInteropTests.swiftRing's, so both
 * languages must write identical bytes. BATCH frames are staged per publish (default 1: enqueue). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "spantap_ring.h"

static uint32_t frame_length(uint64_t seq) { return 60 + (uint32_t)(seq * 37 % 1455); }

static void fill_frame(uint8_t *frame, uint64_t seq, uint32_t length)
{
    for (uint32_t i = 0; i < length; i++)
        frame[i] = (uint8_t)(seq * 131 + i * 7);
    memcpy(frame, &seq, sizeof seq);
}

int main(int argc, char **argv)
{
    uint64_t count = argc > 1 ? strtoull(argv[1], NULL, 10) : 0;
    uint32_t snap = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 0;
    uint64_t batch = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
    struct stat st;
    if (fstat(3, &st) != 0) { perror("fstat memfd"); return 2; }
    void *mapping = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, 3, 0);
    if (mapping == MAP_FAILED) { perror("mmap"); return 2; }
    struct spantap_producer producer;
    if (spantap_producer_init(&producer, mapping, (uint64_t)st.st_size, 4) != 0) {
        fprintf(stderr, "not a SpanTap ring\n");
        return 3;
    }
    static uint8_t frame[2048];
    for (uint64_t seq = 0; seq < count; seq++) {
        uint32_t length = frame_length(seq);
        fill_frame(frame, seq, length);
        struct spantap_rule rule = { .ifindex = 7, .direction = seq % 2 ? SPANTAP_TRANSMITTED : SPANTAP_RECEIVED,
                                     .output_id = (uint32_t)(seq % 3), .rate = 1, .snap_length = snap };
        if (batch == 1) {
            spantap_producer_enqueue(&producer, &rule, frame, length, seq * 1000);
            continue;
        }
        spantap_producer_stage(&producer, &rule, frame, length, seq * 1000);
        if ((seq + 1) % batch == 0)
            spantap_producer_publish(&producer);
    }
    spantap_producer_publish(&producer);
    return 0;
}
