/*
 * spantap_ring.h - the SpanTap handoff ring, version 4: shared-memory ABI and a header-only producer.
 *
 * A handoff ring carries sampled Ethernet frames from one producer (an AF_XDP binding, or an
 * external forwarder in any language) to spantapd's sink. It is single-producer single-consumer,
 * lives in a memfd that spantapd creates and hands out over its control socket, and never makes
 * the producer block, allocate, lock, or enter the kernel unless the consumer is asleep. It also
 * carries the producer's mirror rules and the filter programs they reference, which spantapd
 * rewrites in place on every reload, apply or interface change, so a producer follows them
 * without re-attaching.
 *
 * Memory layout (all integers little-endian host order, offsets from the start of the mapping):
 *
 *   [0, 128)       struct spantap_ring_header, line 0: geometry, written once by the creator
 *                  before the memfd is shared, read-only afterwards.
 *   [128, 256)     producer line: written only by the producer.
 *   [256, 384)     consumer line: written by the consumer (need_wakeup also cleared by the producer).
 *   [384, 8704)    struct spantap_rule_table: the mirror rules, written only by spantapd.
 *   [8704, 140160) struct spantap_program_table: the rules' filter programs (classic BPF,
 *                  spantap_filter.h), written only by spantapd, under the rule table's seqlock.
 *   [header_size, header_size + slot_count * slot_size)   the slots.
 *
 * The parts sit 128 bytes apart, not 64: x86's adjacent-line prefetcher pulls cache lines in
 * pairs, so 64-byte separation still lets producer and consumer writes disturb each other.
 *
 * Slot i holds a struct spantap_record followed by captured_length frame bytes. A record is in
 * slot (index & (slot_count - 1)). Indices are free-running 64-bit counters; the ring is full when
 * producer_index - consumer_index == slot_count and empty when they are equal.
 *
 * Publishing: the producer may stage several records (write their slots) and publish them all
 * with one store-release of producer_index, once per batch of frames it received.
 *
 * Memory-order pairs. Each is labelled here and at every C and Swift site that takes part in it,
 * as the kernel's xsk_queue.h does:
 *   (A) producer: write the slots, then store-release producer_index.
 *       consumer: load-acquire producer_index, then read the slots.
 *   (B) consumer: finish with the slots, then store-release consumer_index.
 *       producer: load-acquire consumer_index (only when its cached copy says full), then reuse them.
 *   (C) the wake-up handshake below: a seq_cst fence on each side between its own store and its
 *       load of the other side's word.
 *   (D) the rule table's seqlock below: the writer's release fence after the odd generation and
 *       store-release of the even one, against the reader's load-acquire of the generation and
 *       acquire fence before it loads the generation again.
 *   (E) retirement: spantapd store-releases SPANTAP_RULES_RETIRED into the rule table's generation;
 *       the producer's load-acquire of the generation in spantap_rules_refresh sees it.
 *
 * Wake-up protocol (the consumer sleeps on an eventfd handed out with the memfd):
 *   consumer, before sleeping:  store need_wakeup = 1; seq_cst fence; load producer_index;
 *                               if it moved, store need_wakeup = 0 and keep draining, else sleep.
 *   producer, after publishing: seq_cst fence; load need_wakeup; if 1, exchange it to 0 and, if
 *                               the exchange returned 1, write 1 to the eventfd.
 * The two fences make it impossible for both sides to miss each other's store, and the exchange
 * means one sleep costs the producer at most one write(2), however many frames follow.
 *
 * Rule table protocol (a seqlock; spantapd is the only writer, the producer only reads):
 *   spantapd:  store generation = G + 1 (odd: being written), release fence; store rule_count and
 *              the rules (relaxed); store generation = G + 2 (even) with release.
 *   producer:  load-acquire generation; if it equals the generation of its own copy, nothing
 *              changed (the per-batch cost is this one load); if odd, spantapd is mid-update: keep
 *              the old copy and look again next batch; else copy rule_count and the rules (relaxed
 *              loads), acquire fence, load generation again: if it moved, the copy may be torn,
 *              so discard it and look again next batch; else the copy is the new rule set.
 * Rules are sorted by (ifindex, direction, vlan_id). A triple has one rule, or several that all
 * carry filters no frame passes more than one of (spantapd makes them from one firewall filter's
 * first-match terms, each mirroring to its own instance, or from a unit's inet and inet6 filters);
 * the producer tries them in order and the first that accepts a frame takes it. Each rule carries the
 * generation at which it last changed, so a producer restarts its 1-in-N count for that rule only.
 * The program table is part of the same seqlock: spantapd writes a rule's program in the same odd
 * window as the rule, and the reader copies the programs its rules reference before it loads the
 * generation again. spantap_rules_refresh() below does the reader's side.
 *
 * Filters (new in version 4): a rule with filter N != 0 selects only the frames that program N - 1
 * of the program table accepts (a tcpdump expression spantapd compiled with libpcap). Per frame the
 * order is: find the rule, run its filter (and the filters of the triple's further rules while
 * they reject: spantap_rules_select), then the 1-in-N / run-length count, then the rule's
 * max-packets-per-second budget, then stage. A frame the filter rejects is counted in
 * filter_rejected, takes no slot and does not advance the 1-in-N count. The producer validates each
 * program once, when refresh copies it (spantap_filter_validate): a rule whose program is missing
 * or invalid is left out of the producer's copy (the rule mirrors nothing; counted in
 * rules_disabled), so a bad program can never be run.
 *
 * Retirement (new in version 3): when spantapd lets go of a ring (it detaches or quarantines the
 * producer, or stops cleanly) it first store-releases SPANTAP_RULES_RETIRED (all ones, odd) into
 * the table's generation (E), and never writes the table again. spantap_rules_refresh returns
 * SPANTAP_REFRESH_RETIRED from then on: the producer stops staging into this ring and attaches
 * again (spantap_session.h does all of it). Retirement costs a producer nothing extra per batch:
 * the generation is the word refresh loads anyway. A crash cannot retire anything: the producer
 * notices it through its control connection's hang-up instead (spantap_session.h's helper thread).
 *
 * What the consumer checks (a producer in another process is not trusted, and the mapping is
 * writable by it; spantapd uses its own copy of the geometry and of the rules, never what the
 * mapping holds):
 *   - producer_index, on every load-acquire: it never moves below a value already seen and never
 *     runs more than slot_count ahead of consumer_index. A producer that breaks either rule is
 *     QUARANTINED at once: its ring is detached without reading another slot, its control
 *     connection is closed, spantapd logs "producer quarantined: <reason>" once and counts it in
 *     status (daemon.producers_quarantined). Its counters so far are kept (daemon.detached_producers).
 *   - every record: captured_length <= original_length, captured_length fits the slot, and
 *     direction is SPANTAP_RECEIVED or SPANTAP_TRANSMITTED, else the record is skipped and counted
 *     as mirror_drops_bad_record; its (output_id, ifindex, direction) must match one of the rules
 *     spantapd gave it, else it is skipped and counted as mirror_drops_not_granted. Neither counter
 *     lives in this mapping. Records staged under rules that a rewrite has since replaced may be
 *     counted as not granted: a rule change is not atomic with the records in flight.
 * A detach (closing the connection) drains at most slot_count records, however fast the producer
 * keeps publishing.
 */
#ifndef SPANTAP_RING_H
#define SPANTAP_RING_H

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "spantap_filter.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SPANTAP_RING_MAGIC 0x474E495250544E53ull /* "SNTPRING" read as little-endian bytes */
#define SPANTAP_RING_VERSION 4u
#define SPANTAP_RING_LINE 128u
/* Rules one ring's table holds: one per mirrored (interface, direction) pair. */
#define SPANTAP_RULE_CAPACITY 256u
#define SPANTAP_RULE_SIZE 32u
/* Filter programs one ring's program table holds, each of at most SPANTAP_FILTER_MAX_INSNS (256). */
#define SPANTAP_PROGRAM_CAPACITY 64u
/* The rule table starts after the three header lines (3 x 128); the program table after the rule
 * table (its own 128-byte line plus the rules: 384 + 128 + 256 x 32); the slots after the program
 * table (a 128-byte line, 64 lengths of 4 bytes, 64 x 256 instructions of 8 bytes: 8704 + 128 +
 * 256 + 131072). Plain numbers, so every language can import them; spantap_ring.c checks the
 * arithmetic. */
#define SPANTAP_RING_RULES_OFFSET 384u
#define SPANTAP_RING_PROGRAMS_OFFSET 8704u
#define SPANTAP_RING_HEADER_SIZE 140160u
/* Slots are a multiple of this so every record header starts 8-byte aligned on its own line. */
#define SPANTAP_RING_SLOT_ALIGN 64u

struct spantap_ring_header {
    /* ---- line 0: geometry. Creator writes before sharing; everyone else only reads. ---- */
    uint64_t magic;          /* SPANTAP_RING_MAGIC */
    uint32_t version;        /* SPANTAP_RING_VERSION; a reader refuses any other */
    uint32_t header_size;    /* offset of slot 0; SPANTAP_RING_HEADER_SIZE (140160) since version 4 */
    uint32_t slot_count;     /* power of two, >= 2 */
    uint32_t slot_size;      /* bytes per slot including the record header; multiple of 64 */
    uint32_t snap_length;    /* 0: frames that do not fit a slot are dropped (drops_no_frame);
                                N: frames longer than N are captured to N bytes (N fits a slot) */
    uint32_t rule_capacity;  /* SPANTAP_RULE_CAPACITY */
    uint8_t pad0[SPANTAP_RING_LINE - 32];

    /* ---- producer line: only the producer writes here ---- */
    uint64_t producer_index;   /* producer: store-release after the slots are written (once per
                                  published batch). consumer: load-acquire before reading slots. (A) */
    uint64_t mirrored_packets; /* frames published. producer: relaxed store; anyone: relaxed load */
    uint64_t mirrored_bytes;   /* captured bytes published (record headers not counted). same */
    uint64_t drops_queue_full; /* clones dropped because the ring was full. same */
    uint64_t drops_no_frame;   /* clones dropped: longer than a slot and snap_length == 0. same */
    uint64_t mirror_once_suppressed; /* egress copies not made because the ingress copy of the
                                        same frame went to the same output (mirror-once). same */
    uint64_t drops_rate_limited; /* clones over a rule's max_packets_per_second. same */
    uint64_t filter_rejected;  /* frames of a filtered rule its program rejected (not clones: they
                                  never took a slot or a sample). same */
    uint64_t rules_disabled;   /* rules left out of the producer's copy at its last refresh: their
                                  program is missing or failed validation. producer: relaxed store
                                  per refresh that changed the rules; anyone: relaxed load */
    uint8_t pad1[SPANTAP_RING_LINE - 72];

    /* ---- consumer line: the consumer writes here ---- */
    uint64_t consumer_index;   /* consumer: store-release after it is done with the slots.
                                  producer: load-acquire, only when its cached copy says full. (B) */
    uint32_t need_wakeup;      /* consumer: store 1 before sleeping (see protocol above), 0 when
                                  it wakes. producer: load after a seq_cst fence, exchange to 0
                                  before waking. (C) */
    uint32_t reserved1;        /* 0 */
    uint64_t drops_no_binding; /* consumer: records whose output is missing or down. relaxed */
    uint8_t pad2[SPANTAP_RING_LINE - 24];
};

/* Which way the frame crossed the interface named by a rule's or a record's ifindex. */
enum spantap_direction {
    SPANTAP_RECEIVED = 0,    /* received on ifindex (ingress mirroring) */
    SPANTAP_TRANSMITTED = 1, /* transmitted by ifindex (egress mirroring) */
};

/* One mirror rule. Written only by spantapd, inside the table's odd-generation window. */
struct spantap_rule {
    uint32_t ifindex;     /* the interface whose frames this rule selects */
    uint16_t direction;   /* enum spantap_direction */
    uint16_t filter;      /* 0: every frame. N (1..SPANTAP_PROGRAM_CAPACITY): only frames program
                             N - 1 of the program table accepts (spantap_rules_select) */
    uint32_t output_id;   /* what records under this rule carry in output_id */
    uint32_t rate;        /* 0 or 1: every frame; N: frames 0, N, 2N, ... of the producer's own
                             count for this rule (spantap_rules_sample) */
    uint32_t snap_length; /* capture at most this many bytes of each frame; 0: whole frames */
    uint32_t generation;  /* low 32 bits of the table generation at which this rule last changed */
    uint16_t vlan_id;     /* 0: the whole port. 1..4094: a unit (Junos NAME.UNIT): only frames whose
                             outer 802.1Q/802.1ad tag carries this VLAN id. An interface and
                             direction has either one whole-port rule or only unit rules. */
    uint16_t run_length;  /* after each sampled frame, also mirror the next run_length (0..20) */
    uint32_t max_packets_per_second; /* 0: no limit. N: at most N clones per second under this
                                        rule from this producer; the rest are counted in
                                        drops_rate_limited (spantap_rules_tick, _sample) */
};

/* The rule table's generation once spantapd has retired the ring (see "Retirement" above). */
#define SPANTAP_RULES_RETIRED 0xffffffffffffffffull

/* spantap_rule_table.flags */
#define SPANTAP_TABLE_MIRROR_ONCE 1u /* a frame selected on ingress and on egress goes to an output
                                        once: the ingress copy wins, the egress copy is counted in
                                        mirror_once_suppressed */

/* The producer's rules, at SPANTAP_RING_RULES_OFFSET. Read-only for the producer. */
struct spantap_rule_table {
    uint64_t generation;  /* spantapd: odd while writing, even (store-release) when done; starts at
                             2 with the first rules; SPANTAP_RULES_RETIRED once the ring is retired.
                             producer: load-acquire (see the protocols above). (D) (E) */
    uint32_t rule_count;  /* rules in use, <= SPANTAP_RULE_CAPACITY. spantapd: relaxed store */
    uint32_t flags;       /* SPANTAP_TABLE_*. spantapd: relaxed store, with the rules */
    uint8_t pad[SPANTAP_RING_LINE - 16];
    struct spantap_rule rules[SPANTAP_RULE_CAPACITY]; /* sorted by (ifindex, direction, vlan_id) */
};

/* The rules' filter programs, at SPANTAP_RING_PROGRAMS_OFFSET. Written only by spantapd, inside
 * the rule table's odd-generation window (D); read-only for the producer, which copies a program
 * (relaxed loads) and validates the copy before it ever runs it. */
struct spantap_program_table {
    uint32_t program_count; /* programs in use (0..count-1), <= SPANTAP_PROGRAM_CAPACITY. relaxed */
    uint32_t reserved;      /* 0 */
    uint8_t pad[SPANTAP_RING_LINE - 8];
    uint32_t lengths[SPANTAP_PROGRAM_CAPACITY]; /* instructions of each program. relaxed */
    struct spantap_filter_insn programs[SPANTAP_PROGRAM_CAPACITY][SPANTAP_FILTER_MAX_INSNS]; /* relaxed */
};

/* Precedes the frame bytes in every slot. Written by the producer before producer_index is
 * published, read by the consumer after it load-acquires producer_index. */
struct spantap_record {
    uint32_t captured_length; /* frame bytes that follow this header */
    uint32_t original_length; /* length of the frame as received, >= captured_length */
    uint32_t ifindex;         /* interface the frame was received on or transmitted by */
    uint32_t output_id;       /* which output it goes to: the rule's output_id */
    uint64_t timestamp_ns;    /* CLOCK_MONOTONIC when the producer took it; 0 if unknown */
    uint32_t direction;       /* enum spantap_direction: the rule's direction */
    uint32_t reserved;        /* 0 */
};

/* sizeof(struct spantap_record), spelled out so other languages can import it. */
#define SPANTAP_RECORD_SIZE 32u

/* The largest frame a slot of this ring can hold without truncation. */
static inline uint32_t spantap_ring_slot_capacity(const struct spantap_ring_header *h)
{
    return h->slot_size - SPANTAP_RECORD_SIZE;
}

/* Bytes the mapping must have for this geometry. */
static inline uint64_t spantap_ring_mapping_size(uint32_t slot_count, uint32_t slot_size)
{
    return (uint64_t)SPANTAP_RING_HEADER_SIZE + (uint64_t)slot_count * slot_size;
}

static inline const struct spantap_rule_table *spantap_ring_rules(const struct spantap_ring_header *h)
{
    return (const struct spantap_rule_table *)((const uint8_t *)h + SPANTAP_RING_RULES_OFFSET);
}

static inline const struct spantap_program_table *spantap_ring_programs(const struct spantap_ring_header *h)
{
    return (const struct spantap_program_table *)((const uint8_t *)h + SPANTAP_RING_PROGRAMS_OFFSET);
}

/* ------------------------------------------------------------------------------------------- *
 * Rules, producer side. A producer keeps a private copy (struct spantap_rule_cache), refreshes it
 * once per batch, finds the rule for each frame's interface and direction, and samples with the
 * rule's rate. Nothing here enters the kernel or allocates, and the per-frame calls never divide.
 * ------------------------------------------------------------------------------------------- */

/* A clone's cost in a rule's token bucket: tokens are clones x 10^9, refilled at
 * max_packets_per_second per nanosecond, so neither refill nor spending divides. */
#define SPANTAP_TOKEN 1000000000ull

struct spantap_rule_cache {
    uint64_t generation; /* table generation this copy was taken at; 0: none yet */
    uint32_t count;
    uint32_t flags;      /* the table's SPANTAP_TABLE_* flags */
    uint32_t limited;    /* rules with a max_packets_per_second */
    uint32_t disabled;   /* rules of the table left out of this copy: program missing or invalid */
    uint64_t ticked_ns;  /* when spantap_rules_tick last refilled the buckets */
    struct spantap_rule rules[SPANTAP_RULE_CAPACITY];
    /* Per rule, one word: frames of the current run still to mirror after a sampled one (high
     * 32 bits) and frames still to skip before the next sampled one (low 32 bits, a down-counter,
     * so a skipped frame costs a load, a compare and a store, whatever the rate). And the
     * max_packets_per_second bucket (SPANTAP_TOKEN each). */
    uint64_t state[SPANTAP_RULE_CAPACITY];
    uint64_t tokens[SPANTAP_RULE_CAPACITY];
    /* The validated programs the rules reference, by the rules' filter - 1 (a rule in this copy
     * only ever references a program that passed spantap_filter_validate). */
    uint32_t program_lengths[SPANTAP_PROGRAM_CAPACITY];
    struct spantap_filter_insn programs[SPANTAP_PROGRAM_CAPACITY][SPANTAP_FILTER_MAX_INSNS];
    /* Where refresh copies programs before it knows the copy is not torn. */
    struct spantap_filter_insn staging[SPANTAP_PROGRAM_CAPACITY][SPANTAP_FILTER_MAX_INSNS];
};

/* What spantap_rules_sample says of one frame. */
enum spantap_sample {
    SPANTAP_SKIP = 0,       /* not selected */
    SPANTAP_MIRROR = 1,     /* stage it */
    SPANTAP_OVER_LIMIT = 2, /* selected, but over the rule's max_packets_per_second: count it
                               with spantap_producer_count_rate_limited, do not stage it */
};

/* The table's order: (ifindex, direction, vlan_id). */
static inline int spantap_rule_before(const struct spantap_rule *a, const struct spantap_rule *b)
{
    if (a->ifindex != b->ifindex)
        return a->ifindex < b->ifindex;
    if (a->direction != b->direction)
        return a->direction < b->direction;
    return a->vlan_id < b->vlan_id;
}

/* What spantap_rules_refresh found. */
enum spantap_refresh {
    SPANTAP_REFRESH_SAME = 0,     /* the rules did not change */
    SPANTAP_REFRESH_CHANGED = 1,  /* the cache now holds the new rules (counts restarted for rules
                                     that changed, kept for the others) */
    SPANTAP_REFRESH_BUSY = -1,    /* spantapd was rewriting the table: the cache keeps the previous
                                     rules; call again next batch */
    SPANTAP_REFRESH_RETIRED = -2, /* spantapd retired the ring: stop staging into it, attach again */
};

/* Copies the program a rule references into c->staging (relaxed loads: spantapd may be writing
 * it; the caller finds out by loading the generation again). Returns its length, or 0 if the
 * reference is out of range or the length cannot be a program. */
static inline uint32_t spantap_rules_stage_program(struct spantap_rule_cache *c, const struct spantap_program_table *t,
                                                   uint32_t program_count, uint32_t program)
{
    if (program >= program_count)
        return 0;
    uint32_t length = __atomic_load_n(&t->lengths[program], __ATOMIC_RELAXED);
    if (length == 0 || length > SPANTAP_FILTER_MAX_INSNS)
        return 0;
    const uint32_t *from = (const uint32_t *)t->programs[program];
    uint32_t *to = (uint32_t *)c->staging[program];
    for (uint32_t w = 0; w < length * 2; w++)
        to[w] = __atomic_load_n(&from[w], __ATOMIC_RELAXED);
    return length;
}

/* Once per batch. The common case (nothing changed) is one load-acquire of the generation. When it
 * changed, copies the rules and the programs they reference, validates each program, and leaves
 * out (and counts in rules_disabled) any rule whose program is missing or invalid. */
static inline enum spantap_refresh spantap_rules_refresh(struct spantap_rule_cache *c, struct spantap_ring_header *h)
{
    const struct spantap_rule_table *t = spantap_ring_rules(h);
    uint64_t generation = __atomic_load_n(&t->generation, __ATOMIC_ACQUIRE); /* (D) (E) */
    if (generation == c->generation)
        return SPANTAP_REFRESH_SAME;
    if (generation == SPANTAP_RULES_RETIRED)
        return SPANTAP_REFRESH_RETIRED;
    if (generation & 1)
        return SPANTAP_REFRESH_BUSY;
    uint32_t count = __atomic_load_n(&t->rule_count, __ATOMIC_RELAXED);
    uint32_t flags = __atomic_load_n(&t->flags, __ATOMIC_RELAXED);
    struct spantap_rule fresh[SPANTAP_RULE_CAPACITY];
    if (count > SPANTAP_RULE_CAPACITY)
        return SPANTAP_REFRESH_BUSY;
    for (uint32_t i = 0; i < count; i++) {
        const uint32_t *from = (const uint32_t *)&t->rules[i];
        uint32_t *to = (uint32_t *)&fresh[i];
        for (uint32_t w = 0; w < SPANTAP_RULE_SIZE / sizeof(uint32_t); w++)
            to[w] = __atomic_load_n(&from[w], __ATOMIC_RELAXED);
    }
    /* Each referenced program once: staged[p] is its length + 1 once copied (1: unusable). */
    const struct spantap_program_table *programs = spantap_ring_programs(h);
    uint32_t program_count = __atomic_load_n(&programs->program_count, __ATOMIC_RELAXED);
    uint32_t staged[SPANTAP_PROGRAM_CAPACITY] = {0};
    for (uint32_t i = 0; i < count; i++) {
        uint32_t program = (uint32_t)fresh[i].filter - 1;
        if (fresh[i].filter != 0 && program < SPANTAP_PROGRAM_CAPACITY && staged[program] == 0)
            staged[program] = spantap_rules_stage_program(c, programs, program_count, program) + 1;
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE); /* (D) */
    if (__atomic_load_n(&t->generation, __ATOMIC_RELAXED) != generation)
        return SPANTAP_REFRESH_BUSY;
    /* The copy is whole. Validate what it holds; leave out rules that cannot run their filter. */
    for (uint32_t p = 0; p < SPANTAP_PROGRAM_CAPACITY; p++) {
        uint32_t offending;
        if (staged[p] > 1 &&
            spantap_filter_validate(c->staging[p], staged[p] - 1, &offending) != SPANTAP_FILTER_VALID)
            staged[p] = 1;
    }
    uint32_t kept = 0;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t program = (uint32_t)fresh[i].filter - 1;
        if (fresh[i].filter == 0 || (program < SPANTAP_PROGRAM_CAPACITY && staged[program] > 1))
            fresh[kept++] = fresh[i];
    }
    /* Both lists are sorted: walk them together to carry the counts of unchanged rules over. */
    uint32_t limited = 0;
    uint64_t state[SPANTAP_RULE_CAPACITY], tokens[SPANTAP_RULE_CAPACITY];
    for (uint32_t i = 0, j = 0; i < kept; i++) {
        while (j < c->count && spantap_rule_before(&c->rules[j], &fresh[i]))
            j++;
        int same = j < c->count && !spantap_rule_before(&fresh[i], &c->rules[j]) &&
                   c->rules[j].generation == fresh[i].generation;
        state[i] = same ? c->state[j] : 0;
        tokens[i] = same ? c->tokens[j] : 0; /* a new limit starts empty and fills at its rate */
        limited += fresh[i].max_packets_per_second != 0;
    }
    for (uint32_t p = 0; p < SPANTAP_PROGRAM_CAPACITY; p++) {
        c->program_lengths[p] = staged[p] > 1 ? staged[p] - 1 : 0;
        if (staged[p] > 1)
            memcpy(c->programs[p], c->staging[p], (staged[p] - 1) * sizeof c->programs[p][0]);
    }
    memcpy(c->rules, fresh, kept * sizeof fresh[0]);
    memcpy(c->state, state, kept * sizeof state[0]);
    memcpy(c->tokens, tokens, kept * sizeof tokens[0]);
    c->limited = limited;
    c->disabled = count - kept;
    c->count = kept;
    c->flags = flags;
    c->generation = generation;
    __atomic_store_n(&h->rules_disabled, (uint64_t)c->disabled, __ATOMIC_RELAXED);
    return SPANTAP_REFRESH_CHANGED;
}

/* Forgets every rule, so the next refresh copies the table whole and every count starts afresh
 * (a producer that moves to a new ring does this: the new table's generations mean nothing to
 * the old copy). */
static inline void spantap_rules_forget(struct spantap_rule_cache *c)
{
    c->generation = 0;
    c->count = 0;
    c->limited = 0;
    c->disabled = 0;
}

/* The index of the first rule for frames crossing ifindex in direction, or -1 if they are not
 * mirrored. A binary search: rules are sorted. If that rule's vlan_id is 0 it is the whole port's
 * rule; otherwise the port has only unit rules, and spantap_rules_find_unit picks the frame's. */
static inline int spantap_rules_find(const struct spantap_rule_cache *c, uint32_t ifindex, uint32_t direction)
{
    uint32_t low = 0, high = c->count;
    while (low < high) {
        uint32_t middle = low + (high - low) / 2;
        const struct spantap_rule *r = &c->rules[middle];
        if (r->ifindex < ifindex || (r->ifindex == ifindex && r->direction < direction))
            low = middle + 1;
        else
            high = middle;
    }
    return low < c->count && c->rules[low].ifindex == ifindex && c->rules[low].direction == direction ? (int)low : -1;
}

/* The outer VLAN id of an Ethernet frame (802.1Q or 802.1ad tag), or 0 if it is untagged. */
static inline uint16_t spantap_frame_vlan(const void *frame, uint32_t length)
{
    const uint8_t *bytes = (const uint8_t *)frame;
    if (length < 16)
        return 0;
    uint16_t type = (uint16_t)(bytes[12] << 8 | bytes[13]);
    return type == 0x8100 || type == 0x88a8 ? (uint16_t)((bytes[14] << 8 | bytes[15]) & 0x0fff) : 0;
}

/* For a port with unit rules: starting at first (from spantap_rules_find), the rule for frames of
 * unit vlan_id, or -1 (a frame of no mirrored unit is not mirrored). */
static inline int spantap_rules_find_unit(const struct spantap_rule_cache *c, int first, uint16_t vlan_id)
{
    const struct spantap_rule *f = &c->rules[first];
    for (uint32_t i = (uint32_t)first; i < c->count && c->rules[i].ifindex == f->ifindex &&
                                       c->rules[i].direction == f->direction; i++) {
        if (c->rules[i].vlan_id == vlan_id)
            return (int)i;
    }
    return -1;
}

/* spantap_rules_select's loop, for a rule that has a filter: rule i's program, then those of the
 * further rules of the same (ifindex, direction, vlan_id) while they reject. */
static __attribute__((noinline)) int spantap_rules_select_filtered(const struct spantap_rule_cache *c, int i, const void *frame,
                                                           uint32_t length)
{
    const struct spantap_rule *first = &c->rules[i];
    for (uint32_t r = (uint32_t)i; r < c->count; r++) {
        const struct spantap_rule *rule = &c->rules[r];
        if (rule->ifindex != first->ifindex || rule->direction != first->direction || rule->vlan_id != first->vlan_id)
            break;
        if (rule->filter == 0 || spantap_filter_run(c->programs[rule->filter - 1], c->program_lengths[rule->filter - 1],
                                                    (const uint8_t *)frame, length) != 0)
            return (int)r;
    }
    return -1;
}

/* The rule that takes one frame (the whole frame, as it crossed the interface), starting at rule i
 * (from spantap_rules_find, or spantap_rules_find_unit for a unit): i itself if it has no filter
 * or its program accepts the frame, else the first further rule of the same (ifindex, direction,
 * vlan_id) whose program does; -1 if every one rejected it (count it with
 * spantap_producer_count_filtered; do not sample it). An unfiltered rule costs a load and a test. */
static inline int spantap_rules_select(const struct spantap_rule_cache *c, int i, const void *frame, uint32_t length)
{
    if (c->rules[i].filter == 0)
        return i;
    return spantap_rules_select_filtered(c, i, frame, length);
}

/* Once per batch, with the batch's CLOCK_MONOTONIC time: refills every limited rule's bucket by
 * the time since the last tick (at most one second's worth; a bucket holds a tenth of a
 * second's clones, at least one). Costs one compare when no rule has a limit. */
static inline void spantap_rules_tick(struct spantap_rule_cache *c, uint64_t now_ns)
{
    uint64_t elapsed = now_ns - c->ticked_ns;
    c->ticked_ns = now_ns;
    if (c->limited == 0)
        return;
    if (elapsed > 1000000000ull)
        elapsed = 1000000000ull;
    for (uint32_t i = 0; i < c->count; i++) {
        uint64_t limit = c->rules[i].max_packets_per_second;
        if (limit == 0)
            continue;
        uint64_t capacity = (limit >= 10 ? limit / 10 : 1) * SPANTAP_TOKEN;
        uint64_t tokens = c->tokens[i] + elapsed * limit;
        c->tokens[i] = tokens < capacity ? tokens : capacity;
    }
}

/* spantap_rules_sample's common case on its own (below), for a producer that samples one rule
 * per frame and keeps a pointer to that rule's state word (&cache.state[i], valid until the next
 * refresh that returns 1): 1 if the frame is skipped (and counted: no run in progress, frames
 * left to skip), 0 if spantap_rules_sample must decide. One load, a compare and a store. */
static inline int spantap_rules_skip(uint64_t *state)
{
    uint64_t s = *state;
    if (s - 1 >= 0xffffffffull)
        return 0;
    *state = s - 1;
    return 1;
}

/* Counts one frame under rule i: SPANTAP_MIRROR for rate 0 or 1 every frame, rate N frames 0, N,
 * 2N, ... counted since the rule last changed, and after each of those the next run_length frames
 * as well (a run overlapping the next sample just continues); SPANTAP_OVER_LIMIT instead when
 * the rule's max_packets_per_second bucket is empty; SPANTAP_SKIP for the others. */
static inline enum spantap_sample spantap_rules_sample(struct spantap_rule_cache *c, int i)
{
    if (spantap_rules_skip(&c->state[i]))
        return SPANTAP_SKIP;
    uint64_t state = c->state[i];
    uint32_t countdown = (uint32_t)state, run = (uint32_t)(state >> 32);
    if (run != 0) /* a frame of the run after a sampled one; the countdown counts it too */
        c->state[i] = (uint64_t)(run - 1) << 32 | (countdown != 0 ? countdown - 1 : 0);
    else          /* the countdown ran out: this frame is sampled, a new run and countdown start */
        c->state[i] = (uint64_t)c->rules[i].run_length << 32 | (c->rules[i].rate > 1 ? c->rules[i].rate - 1 : 0);
    if (c->rules[i].max_packets_per_second == 0)
        return SPANTAP_MIRROR;
    if (c->tokens[i] < SPANTAP_TOKEN)
        return SPANTAP_OVER_LIMIT;
    c->tokens[i] -= SPANTAP_TOKEN;
    return SPANTAP_MIRROR;
}

/* ------------------------------------------------------------------------------------------- *
 * Header-only producer. Map the memfd (MAP_SHARED, PROT_READ|PROT_WRITE), check it with
 * spantap_producer_init, then from one thread, per batch of received frames:
 *
 *     if (spantap_rules_refresh(&cache, producer.header) == SPANTAP_REFRESH_RETIRED)
 *         stop using this ring, attach again;
 *     spantap_rules_tick(&cache, now_ns);
 *     for each frame:
 *         int r = spantap_rules_find(&cache, ifindex, SPANTAP_RECEIVED);
 *         if (r >= 0 && cache.rules[r].vlan_id != 0)      (the port is mirrored by unit)
 *             r = spantap_rules_find_unit(&cache, r, spantap_frame_vlan(frame, length));
 *         if (r >= 0 && (r = spantap_rules_select(&cache, r, frame, length)) < 0) {
 *             spantap_producer_count_filtered(&producer);
 *             continue;
 *         }
 *         switch (r < 0 ? SPANTAP_SKIP : spantap_rules_sample(&cache, r)) {
 *         case SPANTAP_MIRROR: spantap_producer_stage(&producer, &cache.rules[r], frame, length, now_ns); break;
 *         case SPANTAP_OVER_LIMIT: spantap_producer_count_rate_limited(&producer); break;
 *         case SPANTAP_SKIP: break;
 *         }
 *     spantap_producer_publish(&producer);
 *
 * Egress mirroring is the same with the transmitting interface and SPANTAP_TRANSMITTED, for
 * frames actually sent. With SPANTAP_TABLE_MIRROR_ONCE in cache.flags, a frame already staged on
 * ingress for an output is not staged again on egress for the same output: count it with
 * spantap_producer_count_suppressed instead.
 *
 * stage writes the slot privately; publish makes the whole batch visible with one release
 * store, one fence and one wake-up check. spantap_producer_enqueue is stage + publish.
 *
 * spantap_session.h wraps all of this (attach over the control socket, re-attach after a
 * spantapd restart or crash, find + sample + stage in one call) for producers that want it.
 * ------------------------------------------------------------------------------------------- */

enum spantap_enqueue_result {
    SPANTAP_ENQUEUED = 0,
    SPANTAP_DROP_QUEUE_FULL = 1,
    SPANTAP_DROP_NO_FRAME = 2,
};

struct spantap_producer {
    struct spantap_ring_header *header;
    uint8_t *slots;
    uint64_t producer_index;  /* private: slots written so far, staged or published */
    uint64_t published_index; /* private copy of header->producer_index */
    uint64_t cached_consumer; /* last consumer_index seen; refreshed only when the ring looks full */
    uint64_t mirrored_packets, mirrored_bytes, drops_queue_full, drops_no_frame; /* private copies */
    uint64_t mirror_once_suppressed, drops_rate_limited, filter_rejected;         /* private copies */
    uint32_t slot_mask;
    uint32_t slot_size;       /* private copy of the geometry, taken once: nothing written into the */
    uint32_t ring_snap_length; /* mapping later can move where a slot is written */
    uint32_t capture_limit;   /* slot capacity, or snap_length when set */
    int wakeup_fd;            /* eventfd the consumer sleeps on */
};

/* Returns 0, or -1 if the mapping is not a SpanTap ring of this version (SPANTAP_RING_VERSION) of
 * at least mapping_size bytes. */
static inline int spantap_producer_init(struct spantap_producer *p, void *mapping,
                                        uint64_t mapping_size, int wakeup_fd)
{
    struct spantap_ring_header *h = (struct spantap_ring_header *)mapping;
    if (mapping_size < SPANTAP_RING_HEADER_SIZE || h->magic != SPANTAP_RING_MAGIC ||
        h->version != SPANTAP_RING_VERSION || h->header_size != SPANTAP_RING_HEADER_SIZE ||
        h->rule_capacity != SPANTAP_RULE_CAPACITY ||
        h->slot_count < 2 || (h->slot_count & (h->slot_count - 1)) != 0 ||
        h->slot_size < SPANTAP_RING_SLOT_ALIGN || h->slot_size % SPANTAP_RING_SLOT_ALIGN != 0 ||
        mapping_size < spantap_ring_mapping_size(h->slot_count, h->slot_size) ||
        h->snap_length > spantap_ring_slot_capacity(h))
        return -1;
    p->header = h;
    p->slots = (uint8_t *)mapping + h->header_size;
    p->producer_index = p->published_index = __atomic_load_n(&h->producer_index, __ATOMIC_RELAXED);
    p->cached_consumer = __atomic_load_n(&h->consumer_index, __ATOMIC_ACQUIRE);
    p->mirrored_packets = __atomic_load_n(&h->mirrored_packets, __ATOMIC_RELAXED);
    p->mirrored_bytes = __atomic_load_n(&h->mirrored_bytes, __ATOMIC_RELAXED);
    p->drops_queue_full = __atomic_load_n(&h->drops_queue_full, __ATOMIC_RELAXED);
    p->drops_no_frame = __atomic_load_n(&h->drops_no_frame, __ATOMIC_RELAXED);
    p->mirror_once_suppressed = __atomic_load_n(&h->mirror_once_suppressed, __ATOMIC_RELAXED);
    p->drops_rate_limited = __atomic_load_n(&h->drops_rate_limited, __ATOMIC_RELAXED);
    p->filter_rejected = __atomic_load_n(&h->filter_rejected, __ATOMIC_RELAXED);
    p->slot_mask = h->slot_count - 1;
    p->slot_size = h->slot_size;
    p->ring_snap_length = h->snap_length;
    p->capture_limit = h->snap_length ? h->snap_length : spantap_ring_slot_capacity(h);
    p->wakeup_fd = wakeup_fd;
    return 0;
}

/* Copies one frame into the next slot under rule (its ifindex, direction, output_id and
 * snap_length go into the record), not yet visible to the consumer: see spantap_producer_publish.
 * The frame is truncated to the rule's snap_length if set, else to the ring's own snap_length if
 * it has one; otherwise a frame longer than a slot is dropped. A full ring drops it. Never blocks;
 * a drop is counted in the header at once and returned. original_length is the full length. */
static inline enum spantap_enqueue_result
spantap_producer_stage(struct spantap_producer *p, const struct spantap_rule *rule, const void *frame,
                       uint32_t length, uint64_t timestamp_ns)
{
    struct spantap_ring_header *h = p->header;
    uint32_t snap = rule->snap_length;
    uint32_t limit = snap && snap < p->capture_limit ? snap : p->capture_limit;
    uint32_t captured = length;
    if (length > limit) {
        if (p->ring_snap_length == 0 && snap == 0) {
            __atomic_store_n(&h->drops_no_frame, ++p->drops_no_frame, __ATOMIC_RELAXED);
            return SPANTAP_DROP_NO_FRAME;
        }
        captured = limit;
    }
    if (p->producer_index - p->cached_consumer >= (uint64_t)p->slot_mask + 1) {
        p->cached_consumer = __atomic_load_n(&h->consumer_index, __ATOMIC_ACQUIRE); /* (B) */
        if (p->producer_index - p->cached_consumer >= (uint64_t)p->slot_mask + 1) {
            __atomic_store_n(&h->drops_queue_full, ++p->drops_queue_full, __ATOMIC_RELAXED);
            return SPANTAP_DROP_QUEUE_FULL;
        }
    }
    uint8_t *slot = p->slots + (uint64_t)(p->producer_index & p->slot_mask) * p->slot_size;
    struct spantap_record record = {
        .captured_length = captured,
        .original_length = length,
        .ifindex = rule->ifindex,
        .output_id = rule->output_id,
        .timestamp_ns = timestamp_ns,
        .direction = rule->direction,
        .reserved = 0,
    };
    memcpy(slot, &record, sizeof record);
    memcpy(slot + SPANTAP_RECORD_SIZE, frame, captured);
    p->producer_index++;
    p->mirrored_packets++;
    p->mirrored_bytes += captured;
    return SPANTAP_ENQUEUED;
}

/* Makes every staged frame visible: one release store of producer_index and, only if the
 * consumer went to sleep, one eventfd write. Costs nothing when nothing was staged. */
static inline void spantap_producer_publish(struct spantap_producer *p)
{
    struct spantap_ring_header *h = p->header;
    if (p->producer_index == p->published_index)
        return;
    p->published_index = p->producer_index;
    __atomic_store_n(&h->producer_index, p->producer_index, __ATOMIC_RELEASE); /* (A) */
    __atomic_store_n(&h->mirrored_packets, p->mirrored_packets, __ATOMIC_RELAXED);
    __atomic_store_n(&h->mirrored_bytes, p->mirrored_bytes, __ATOMIC_RELAXED);

    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* (C) */
    if (__atomic_load_n(&h->need_wakeup, __ATOMIC_RELAXED) &&
        __atomic_exchange_n(&h->need_wakeup, 0, __ATOMIC_RELAXED)) {
        uint64_t one = 1;
        /* EAGAIN means the counter is already non-zero: the consumer wakes anyway. */
        ssize_t ignored = write(p->wakeup_fd, &one, sizeof one);
        (void)ignored;
    }
}

/* An egress copy not made because of mirror-once (SPANTAP_TABLE_MIRROR_ONCE). */
static inline void spantap_producer_count_suppressed(struct spantap_producer *p)
{
    __atomic_store_n(&p->header->mirror_once_suppressed, ++p->mirror_once_suppressed, __ATOMIC_RELAXED);
}

/* A clone not made because its rule's max_packets_per_second was used up (SPANTAP_OVER_LIMIT). */
static inline void spantap_producer_count_rate_limited(struct spantap_producer *p)
{
    __atomic_store_n(&p->header->drops_rate_limited, ++p->drops_rate_limited, __ATOMIC_RELAXED);
}

/* A frame its rule's filter rejected (spantap_rules_select returned -1). */
static inline void spantap_producer_count_filtered(struct spantap_producer *p)
{
    __atomic_store_n(&p->header->filter_rejected, ++p->filter_rejected, __ATOMIC_RELAXED);
}

/* One frame, visible at once: stage + publish. */
static inline enum spantap_enqueue_result
spantap_producer_enqueue(struct spantap_producer *p, const struct spantap_rule *rule, const void *frame,
                         uint32_t length, uint64_t timestamp_ns)
{
    enum spantap_enqueue_result result = spantap_producer_stage(p, rule, frame, length, timestamp_ns);
    spantap_producer_publish(p);
    return result;
}

#ifdef __cplusplus
}
#endif

#endif /* SPANTAP_RING_H */
