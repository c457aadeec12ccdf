/* c_producer_bench.c - what a C or Rust forwarder pays per mirrored frame with spantap_ring.h.
 *
 * Builds a ring in a private memfd (the layout the header documents: geometry line,
 * one rule) and feeds it FRAMES frames of SIZE bytes, every frame mirrored (rate 1), in batches
 * of BATCH frames, three ways:
 *   enqueue   spantap_producer_enqueue per frame (stage + publish: a release store, a fence and a
 *             wake-up check per frame)
 *   batched   spantap_producer_stage per frame, spantap_producer_publish once per batch
 *   forwarder batched, plus what a forwarder does around it: spantap_rules_refresh and
 *             spantap_rules_tick per batch, spantap_rules_find and spantap_rules_sample per frame
 *   session   the same through spantap_session.h (begin_batch, offer, publish): forwarder plus the
 *             session's per-batch liveness check (one load) and per-frame dispatch. The session's
 *             helper thread is not started: the ring is handed to it as the helper would.
 * A consumer is emulated by moving consumer_index up to producer_index after every batch, so the
 * ring never fills and the cost measured is the producer's alone (no second core, no wake-up).
 *
 * Build: cc -std=c11 -O2 -pthread -I Sources/CSpanTapRing/include -o c_producer_bench c_producer_bench.c
 * Run:   c_producer_bench MODE SIZE BATCH FRAMES   -> mode=.. size=.. batch=.. ns_per_frame=..
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "spantap_session.h"

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: c_producer_bench enqueue|batched|forwarder|session SIZE BATCH FRAMES\n");
        return 1;
    }
    const char *mode = argv[1];
    uint32_t size = (uint32_t)atoi(argv[2]), batch = (uint32_t)atoi(argv[3]);
    long frames = atol(argv[4]);
    const uint32_t slot_count = 4096, slot_size = 2048;
    uint64_t mapping_size = spantap_ring_mapping_size(slot_count, slot_size);
    int memfd = memfd_create("c-producer-bench", 0);
    if (memfd < 0 || ftruncate(memfd, (off_t)mapping_size) != 0) {
        perror("memfd");
        return 2;
    }
    uint8_t *mapping = mmap(NULL, mapping_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    struct spantap_ring_header *h = (struct spantap_ring_header *)mapping;
    h->magic = SPANTAP_RING_MAGIC;
    h->version = SPANTAP_RING_VERSION;
    h->header_size = SPANTAP_RING_HEADER_SIZE;
    h->slot_count = slot_count;
    h->slot_size = slot_size;
    h->rule_capacity = SPANTAP_RULE_CAPACITY;
    struct spantap_rule_table *table = (struct spantap_rule_table *)(mapping + SPANTAP_RING_RULES_OFFSET);
    table->rules[0] = (struct spantap_rule){ .ifindex = 7, .direction = SPANTAP_RECEIVED, .output_id = 0, .rate = 1 };
    table->rule_count = 1;
    table->generation = 2;

    /* The session mode hands the ring to the session as its helper thread would. */
    static struct spantap_attachment attachment;
    static struct spantap_session session;
    static struct spantap_rule_cache cache;
    struct spantap_producer *p = &attachment.producer;
    session.current = &attachment;
    if (spantap_producer_init(p, mapping, mapping_size, -1) != 0 ||
        spantap_rules_refresh(&cache, h) != SPANTAP_REFRESH_CHANGED) {
        fprintf(stderr, "ring setup failed\n");
        return 2;
    }
    static uint8_t frame[2048];
    memset(frame, 0xa5, sizeof frame);
    int forwarder = strcmp(mode, "forwarder") == 0, enqueue = strcmp(mode, "enqueue") == 0;
    int through_session = strcmp(mode, "session") == 0;
    double start = now_ns();
    for (long done = 0; done < frames; done += batch) {
        if (through_session) {
            spantap_session_begin_batch(&session, 0);
            for (uint32_t i = 0; i < batch; i++)
                spantap_session_offer(&session, 7, SPANTAP_RECEIVED, frame, size);
            spantap_session_publish(&session);
            __atomic_store_n(&h->consumer_index, p->producer_index, __ATOMIC_RELEASE);
            continue;
        }
        if (forwarder) {
            spantap_rules_refresh(&cache, h);
            spantap_rules_tick(&cache, 0);
        }
        for (uint32_t i = 0; i < batch; i++) {
            if (enqueue) {
                spantap_producer_enqueue(p, &cache.rules[0], frame, size, 0);
                continue;
            }
            if (forwarder) {
                int r = spantap_rules_find(&cache, 7, SPANTAP_RECEIVED);
                if (r >= 0 && spantap_rules_sample(&cache, r) == SPANTAP_MIRROR)
                    spantap_producer_stage(p, &cache.rules[r], frame, size, 0);
                continue;
            }
            spantap_producer_stage(p, &cache.rules[0], frame, size, 0);
        }
        spantap_producer_publish(p);
        __atomic_store_n(&h->consumer_index, p->producer_index, __ATOMIC_RELEASE);
    }
    double elapsed = now_ns() - start;
    if (p->mirrored_packets != (uint64_t)frames) {
        fprintf(stderr, "mirrored %llu of %ld\n", (unsigned long long)p->mirrored_packets, frames);
        return 3;
    }
    printf("mode=%s size=%u batch=%u frames=%ld ns_per_frame=%.2f\n", mode, size, batch, frames, elapsed / (double)frames);
    return 0;
}
