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
 *   rejected  forwarder, the rule filtered by `ip` (tcpdump -d: 4 instructions), which rejects
 *             every frame (EtherType 0xa5a5): find + filter + count per frame, nothing staged.
 * A consumer is emulated by moving consumer_index up to producer_index after every batch, so the
 * ring never fills and the cost measured is the producer's alone (no second core, no wake-up).
 *
 * Build: cc -std=c11 -O2 -pthread -I Sources/CSpanTapRing/include -o c_producer_bench c_producer_bench.c
 * Run:   c_producer_bench MODE SIZE BATCH FRAMES   -> mode=.. size=.. batch=.. ns_per_frame=..
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "spantap_session.h"

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* One function per mode, never inlined, so each mode's loop compiles the same whatever the others
 * do (callgrind counts main's inclusive instructions: the instruction guard of row 7). */
struct bench {
    struct spantap_ring_header *h;
    struct spantap_producer *p;
    struct spantap_rule_cache *cache;
    struct spantap_session *session;
    const uint8_t *frame;
    uint32_t size, batch;
    long frames;
};

/* The emulated consumer: everything published is consumed at once. */
static void consume(const struct bench *b)
{
    __atomic_store_n(&b->h->consumer_index, b->p->producer_index, __ATOMIC_RELEASE);
}

static __attribute__((noinline)) void run_enqueue(const struct bench *b)
{
    for (long done = 0; done < b->frames; done += b->batch) {
        for (uint32_t i = 0; i < b->batch; i++)
            spantap_producer_enqueue(b->p, &b->cache->rules[0], b->frame, b->size, 0);
        consume(b);
    }
}

static __attribute__((noinline)) void run_batched(const struct bench *b)
{
    for (long done = 0; done < b->frames; done += b->batch) {
        for (uint32_t i = 0; i < b->batch; i++)
            spantap_producer_stage(b->p, &b->cache->rules[0], b->frame, b->size, 0);
        spantap_producer_publish(b->p);
        consume(b);
    }
}

static __attribute__((noinline)) void run_forwarder(const struct bench *b)
{
    for (long done = 0; done < b->frames; done += b->batch) {
        spantap_rules_refresh(b->cache, b->h);
        spantap_rules_tick(b->cache, 0);
        for (uint32_t i = 0; i < b->batch; i++) {
            int r = spantap_rules_find(b->cache, 7, SPANTAP_RECEIVED);
            if (r >= 0 && spantap_rules_sample(b->cache, r) == SPANTAP_MIRROR)
                spantap_producer_stage(b->p, &b->cache->rules[r], b->frame, b->size, 0);
        }
        spantap_producer_publish(b->p);
        consume(b);
    }
}

static __attribute__((noinline)) void run_session(const struct bench *b)
{
    for (long done = 0; done < b->frames; done += b->batch) {
        spantap_session_begin_batch(b->session, 0);
        for (uint32_t i = 0; i < b->batch; i++)
            spantap_session_offer(b->session, 7, SPANTAP_RECEIVED, b->frame, b->size);
        spantap_session_publish(b->session);
        consume(b);
    }
}

/* The forwarder loop with the filter between find and sample; the filter rejects every frame. */
static __attribute__((noinline)) void run_rejected(const struct bench *b)
{
    for (long done = 0; done < b->frames; done += b->batch) {
        spantap_rules_refresh(b->cache, b->h);
        spantap_rules_tick(b->cache, 0);
        for (uint32_t i = 0; i < b->batch; i++) {
            int r = spantap_rules_find(b->cache, 7, SPANTAP_RECEIVED);
            if (r >= 0 && (r = spantap_rules_select(b->cache, r, b->frame, b->size)) < 0)
                spantap_producer_count_filtered(b->p);
            else if (r >= 0 && spantap_rules_sample(b->cache, r) == SPANTAP_MIRROR)
                spantap_producer_stage(b->p, &b->cache->rules[r], b->frame, b->size, 0);
        }
        spantap_producer_publish(b->p);
        consume(b);
    }
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: c_producer_bench enqueue|batched|forwarder|session|rejected SIZE BATCH FRAMES\n");
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
    int rejected = strcmp(mode, "rejected") == 0;
    table->rules[0] = (struct spantap_rule){ .ifindex = 7, .direction = SPANTAP_RECEIVED, .output_id = 0, .rate = 1,
                                             .filter = (uint16_t)rejected };
    table->rule_count = 1;
    if (rejected) { /* program 0: `ip`, as libpcap compiles it for Ethernet */
        struct spantap_program_table *programs = (struct spantap_program_table *)(mapping + SPANTAP_RING_PROGRAMS_OFFSET);
        const struct spantap_filter_insn ip[] = {
            { SPANTAP_BPF_LD_H_ABS, 0, 0, 12 }, { SPANTAP_BPF_JEQ_K, 0, 1, 0x0800 },
            { SPANTAP_BPF_RET_K, 0, 0, 262144 }, { SPANTAP_BPF_RET_K, 0, 0, 0 },
        };
        memcpy(programs->programs[0], ip, sizeof ip);
        programs->lengths[0] = 4;
        programs->program_count = 1;
    }
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
    struct bench b = { .h = h, .p = p, .cache = &cache, .session = &session, .frame = frame, .size = size,
                       .batch = batch, .frames = frames };
    static const struct { const char *name; void (*run)(const struct bench *); } modes[] = {
        { "enqueue", run_enqueue }, { "batched", run_batched }, { "forwarder", run_forwarder },
        { "session", run_session }, { "rejected", run_rejected },
    };
    void (*run)(const struct bench *) = NULL;
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++)
        if (strcmp(mode, modes[m].name) == 0)
            run = modes[m].run;
    if (!run) {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 1;
    }
    double start = now_ns();
    run(&b);
    double elapsed = now_ns() - start;
    if ((rejected ? p->filter_rejected : p->mirrored_packets) != (uint64_t)frames) {
        fprintf(stderr, "%s %llu of %ld\n", rejected ? "rejected" : "mirrored",
                (unsigned long long)(rejected ? p->filter_rejected : p->mirrored_packets), frames);
        return 3;
    }
    printf("mode=%s size=%u batch=%u frames=%ld ns_per_frame=%.2f\n", mode, size, batch, frames, elapsed / (double)frames);
    return 0;
}
