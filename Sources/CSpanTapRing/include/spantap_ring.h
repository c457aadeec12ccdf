/*
 * spantap_ring.h - the SpanTap handoff ring: shared-memory ABI and a header-only producer.
 *
 * A handoff ring carries sampled Ethernet frames from one producer (an AF_XDP binding, or an
 * external forwarder in any language) to spantapd's sink. It is single-producer single-consumer,
 * lives in a memfd that spantapd creates and hands out over its control socket, and never makes
 * the producer block, allocate, lock, or enter the kernel unless the consumer is asleep.
 *
 * Memory layout (all integers little-endian host order, offsets from the start of the mapping):
 *
 *   [0, 128)     struct spantap_ring_header, line 0: geometry, written once by the creator
 *                before the memfd is shared, read-only afterwards.
 *   [128, 256)   producer line: written only by the producer.
 *   [256, 384)   consumer line: written by the consumer (need_wakeup also cleared by the producer).
 *   [header_size, header_size + slot_count * slot_size)   the slots.
 *
 * The three parts sit 128 bytes apart, not 64: x86's adjacent-line prefetcher pulls cache lines in
 * pairs, so 64-byte separation still lets producer and consumer writes disturb each other.
 *
 * Slot i holds a struct spantap_record followed by captured_length frame bytes. A record is in
 * slot (index & (slot_count - 1)). Indices are free-running 64-bit counters; the ring is full when
 * producer_index - consumer_index == slot_count and empty when they are equal.
 *
 * Wake-up protocol (the consumer sleeps on an eventfd handed out with the memfd):
 *   consumer, before sleeping:  store need_wakeup = 1; seq_cst fence; load producer_index;
 *                               if it moved, store need_wakeup = 0 and keep draining, else sleep.
 *   producer, after publishing: seq_cst fence; load need_wakeup; if 1, exchange it to 0 and, if
 *                               the exchange returned 1, write 1 to the eventfd.
 * The two fences make it impossible for both sides to miss each other's store, and the exchange
 * means one sleep costs the producer at most one write(2), however many frames follow.
 *
 * What the consumer checks (a producer in another process is not trusted, and the mapping is
 * writable by it; spantapd uses its own copy of the geometry, never line 0 as the producer left it):
 *   - producer_index, on every load-acquire: it never moves below a value already seen and never
 *     runs more than slot_count ahead of consumer_index. A producer that breaks either rule is
 *     QUARANTINED at once: its ring is detached without reading another slot, its control
 *     connection is closed, spantapd logs "producer quarantined: <reason>" once and counts it in
 *     status (daemon.producers_quarantined). Its counters so far are kept (daemon.detached_producers).
 *   - every record: captured_length <= original_length and captured_length fits the slot, else the
 *     record is skipped and counted as mirror_drops_bad_record; its output_id (with its
 *     ingress_ifindex, where the rule names one) must be one of the routes of the producer's current
 *     grant (the rules in the attach reply, updated on reload and apply), else it is skipped and
 *     counted as mirror_drops_not_granted. Neither counter lives in this mapping.
 * A detach (closing the connection) drains at most slot_count records, however fast the producer
 * keeps publishing.
 */
#ifndef SPANTAP_RING_H
#define SPANTAP_RING_H

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SPANTAP_RING_MAGIC 0x474E495250544E53ull /* "SNTPRING" read as little-endian bytes */
#define SPANTAP_RING_VERSION 1u
#define SPANTAP_RING_LINE 128u
#define SPANTAP_RING_HEADER_SIZE 384u
/* Slots are a multiple of this so every record header starts 8-byte aligned on its own line. */
#define SPANTAP_RING_SLOT_ALIGN 64u

struct spantap_ring_header {
    /* ---- line 0: geometry. Creator writes before sharing; everyone else only reads. ---- */
    uint64_t magic;          /* SPANTAP_RING_MAGIC */
    uint32_t version;        /* SPANTAP_RING_VERSION; a reader refuses any other */
    uint32_t header_size;    /* offset of slot 0; SPANTAP_RING_HEADER_SIZE in version 1 */
    uint32_t slot_count;     /* power of two, >= 2 */
    uint32_t slot_size;      /* bytes per slot including the record header; multiple of 64 */
    uint32_t snap_length;    /* 0: frames that do not fit a slot are dropped (drops_no_frame);
                                N: frames longer than N are captured to N bytes (N fits a slot) */
    uint32_t reserved0;      /* 0 */
    uint8_t pad0[SPANTAP_RING_LINE - 32];

    /* ---- producer line: only the producer writes here ---- */
    uint64_t producer_index;   /* producer: store-release after the slot is written.
                                  consumer: load-acquire before reading slots. */
    uint64_t mirrored_packets; /* frames enqueued. producer: relaxed store; anyone: relaxed load */
    uint64_t mirrored_bytes;   /* captured bytes enqueued (record headers not counted). same */
    uint64_t drops_queue_full; /* clones dropped because the ring was full. same */
    uint64_t drops_no_frame;   /* clones dropped: longer than a slot and snap_length == 0. same */
    uint8_t pad1[SPANTAP_RING_LINE - 40];

    /* ---- consumer line: the consumer writes here ---- */
    uint64_t consumer_index;   /* consumer: store-release after it is done with the slots.
                                  producer: load-acquire, only when its cached copy says full. */
    uint32_t need_wakeup;      /* consumer: store 1 before sleeping (see protocol above), 0 when
                                  it wakes. producer: seq_cst load, exchange to 0 before waking. */
    uint32_t reserved1;        /* 0 */
    uint64_t drops_no_binding; /* consumer: records whose output is missing or down. relaxed */
    uint8_t pad2[SPANTAP_RING_LINE - 24];
};

/* Precedes the frame bytes in every slot. Written by the producer before producer_index is
 * published, read by the consumer after it load-acquires producer_index. */
struct spantap_record {
    uint32_t captured_length; /* frame bytes that follow this header */
    uint32_t original_length; /* length of the frame as received, >= captured_length */
    uint32_t ingress_ifindex; /* interface the frame arrived on */
    uint32_t output_id;       /* which output it goes to; ids come from spantapd */
    uint64_t timestamp_ns;    /* CLOCK_MONOTONIC when the producer took it; 0 if unknown */
};

/* sizeof(struct spantap_record), spelled out so other languages can import it. */
#define SPANTAP_RECORD_SIZE 24u

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

/* ------------------------------------------------------------------------------------------- *
 * Header-only producer. Map the memfd (MAP_SHARED, PROT_READ|PROT_WRITE), check it with
 * spantap_producer_init, then call spantap_producer_enqueue per frame from one thread.
 * ------------------------------------------------------------------------------------------- */

enum spantap_enqueue_result {
    SPANTAP_ENQUEUED = 0,
    SPANTAP_DROP_QUEUE_FULL = 1,
    SPANTAP_DROP_NO_FRAME = 2,
};

struct spantap_producer {
    struct spantap_ring_header *header;
    uint8_t *slots;
    uint64_t producer_index;  /* private copy of header->producer_index */
    uint64_t cached_consumer; /* last consumer_index seen; refreshed only when the ring looks full */
    uint64_t mirrored_packets, mirrored_bytes, drops_queue_full, drops_no_frame; /* private copies */
    uint32_t slot_mask;
    uint32_t capture_limit;   /* slot capacity, or snap_length when set */
    int wakeup_fd;            /* eventfd the consumer sleeps on */
};

/* Returns 0, or -1 if the mapping is not a version-1 SpanTap ring of at least mapping_size bytes. */
static inline int spantap_producer_init(struct spantap_producer *p, void *mapping,
                                        uint64_t mapping_size, int wakeup_fd)
{
    struct spantap_ring_header *h = (struct spantap_ring_header *)mapping;
    if (mapping_size < SPANTAP_RING_HEADER_SIZE || h->magic != SPANTAP_RING_MAGIC ||
        h->version != SPANTAP_RING_VERSION || h->header_size != SPANTAP_RING_HEADER_SIZE ||
        h->slot_count < 2 || (h->slot_count & (h->slot_count - 1)) != 0 ||
        h->slot_size < SPANTAP_RING_SLOT_ALIGN || h->slot_size % SPANTAP_RING_SLOT_ALIGN != 0 ||
        mapping_size < spantap_ring_mapping_size(h->slot_count, h->slot_size) ||
        h->snap_length > spantap_ring_slot_capacity(h))
        return -1;
    p->header = h;
    p->slots = (uint8_t *)mapping + h->header_size;
    p->producer_index = __atomic_load_n(&h->producer_index, __ATOMIC_RELAXED);
    p->cached_consumer = __atomic_load_n(&h->consumer_index, __ATOMIC_ACQUIRE);
    p->mirrored_packets = __atomic_load_n(&h->mirrored_packets, __ATOMIC_RELAXED);
    p->mirrored_bytes = __atomic_load_n(&h->mirrored_bytes, __ATOMIC_RELAXED);
    p->drops_queue_full = __atomic_load_n(&h->drops_queue_full, __ATOMIC_RELAXED);
    p->drops_no_frame = __atomic_load_n(&h->drops_no_frame, __ATOMIC_RELAXED);
    p->slot_mask = h->slot_count - 1;
    p->capture_limit = h->snap_length ? h->snap_length : spantap_ring_slot_capacity(h);
    p->wakeup_fd = wakeup_fd;
    return 0;
}

/* Copies one frame into the ring, truncated to snap bytes if snap is non-zero (a per-instance
 * maximum-packet-length from spantapd's grant), else to the ring's own snap_length if it has one;
 * otherwise a frame longer than a slot is dropped. Never blocks; a drop is counted in the header
 * and returned. original_length always records the frame's full length. */
static inline enum spantap_enqueue_result
spantap_producer_enqueue_snap(struct spantap_producer *p, const void *frame, uint32_t length, uint32_t snap,
                              uint32_t ingress_ifindex, uint32_t output_id, uint64_t timestamp_ns)
{
    struct spantap_ring_header *h = p->header;
    uint32_t limit = snap && snap < p->capture_limit ? snap : p->capture_limit;
    uint32_t captured = length;
    if (length > limit) {
        if (h->snap_length == 0 && snap == 0) {
            __atomic_store_n(&h->drops_no_frame, ++p->drops_no_frame, __ATOMIC_RELAXED);
            return SPANTAP_DROP_NO_FRAME;
        }
        captured = limit;
    }
    if (p->producer_index - p->cached_consumer >= (uint64_t)p->slot_mask + 1) {
        p->cached_consumer = __atomic_load_n(&h->consumer_index, __ATOMIC_ACQUIRE);
        if (p->producer_index - p->cached_consumer >= (uint64_t)p->slot_mask + 1) {
            __atomic_store_n(&h->drops_queue_full, ++p->drops_queue_full, __ATOMIC_RELAXED);
            return SPANTAP_DROP_QUEUE_FULL;
        }
    }
    uint8_t *slot = p->slots + (uint64_t)(p->producer_index & p->slot_mask) * h->slot_size;
    struct spantap_record record = {
        .captured_length = captured,
        .original_length = length,
        .ingress_ifindex = ingress_ifindex,
        .output_id = output_id,
        .timestamp_ns = timestamp_ns,
    };
    memcpy(slot, &record, sizeof record);
    memcpy(slot + SPANTAP_RECORD_SIZE, frame, captured);
    __atomic_store_n(&h->producer_index, ++p->producer_index, __ATOMIC_RELEASE);
    __atomic_store_n(&h->mirrored_packets, ++p->mirrored_packets, __ATOMIC_RELAXED);
    p->mirrored_bytes += captured;
    __atomic_store_n(&h->mirrored_bytes, p->mirrored_bytes, __ATOMIC_RELAXED);

    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&h->need_wakeup, __ATOMIC_RELAXED) &&
        __atomic_exchange_n(&h->need_wakeup, 0, __ATOMIC_RELAXED)) {
        uint64_t one = 1;
        /* EAGAIN means the counter is already non-zero: the consumer wakes anyway. */
        ssize_t ignored = write(p->wakeup_fd, &one, sizeof one);
        (void)ignored;
    }
    return SPANTAP_ENQUEUED;
}

/* spantap_producer_enqueue_snap without a per-call snap length. */
static inline enum spantap_enqueue_result
spantap_producer_enqueue(struct spantap_producer *p, const void *frame, uint32_t length,
                         uint32_t ingress_ifindex, uint32_t output_id, uint64_t timestamp_ns)
{
    return spantap_producer_enqueue_snap(p, frame, length, 0, ingress_ifindex, output_id, timestamp_ns);
}

#ifdef __cplusplus
}
#endif

#endif /* SPANTAP_RING_H */
