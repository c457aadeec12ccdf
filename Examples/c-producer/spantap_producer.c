/*
 * spantap_producer.c - an external forwarder feeding spantapd, in plain C: a stand-in for a real
 * AF_XDP dataplane that shows everything a producer in another language needs.
 *
 *   1. Attach: connect to spantapd's control socket and send one JSON line (spantap_attach.h):
 *        {"command":"attach-producer","name":"NAME","abi":2}
 *      The ring's memfd and eventfd arrive with the reply (SCM_RIGHTS).
 *   2. Map the memfd and check it with spantap_producer_init (spantap_ring.h).
 *   3. Per batch of frames "received": refresh the rule cache (one load unless spantapd changed the
 *      rules) and tick its max-packets-per-second budgets, find the rule for the receiving
 *      interface, sample each frame with the rule's rate, stage the chosen ones, publish once. Rules change under the producer on every reload or
 *      apply; it never re-attaches. When the rules change it looks its interface up again, so an
 *      interface deleted and re-created (new ifindex) is followed.
 *   4. Detach by closing the socket (spantapd drains the ring into the outputs and frees it; the
 *      same happens if the producer dies).
 *
 * Build: cc -std=c11 -O2 -I ../../Sources/CSpanTapRing/include -o spantap_producer spantap_producer.c
 * Run:   spantap_producer [-s SOCKET] [-n NAME] [-i IFNAME] [-r PPS] [-d SECONDS] [-b BATCH]
 *                         [-c COUNT] [-l LENGTH] [-w SECONDS]
 *   -i  frames claim to arrive on IFNAME (default: the interface of spantapd's first rule)
 *   -r  offer PPS frames per second, paced per batch (default: as fast as possible)
 *   -d  run for SECONDS (default: until COUNT frames are offered; -c default 100)
 *   -b  frames per batch, i.e. per publish (default 32)
 *   -l  frame length (60..9000, default 128); the sequence number is in the payload
 *   -w  stay attached SECONDS after the last frame
 * Each second it prints "offered=N mirrored=N generation=G" (counts for that second); at the
 * end the ring's totals.
 */
#define _GNU_SOURCE
#include <net/if.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "spantap_attach.h"
#include "spantap_ring.h"

static uint64_t now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static int attach(const char *path, const char *name, char *reply, size_t reply_size, int fds[2])
{
    int sock = spantap_connect(path);
    if (sock < 0) {
        perror(path);
        exit(2);
    }
    char request[256];
    snprintf(request, sizeof request, "{\"command\":\"attach-producer\",\"name\":\"%s\",\"abi\":%u}\n", name,
             SPANTAP_RING_VERSION);
    switch (spantap_request_ring(sock, request, reply, reply_size, fds)) {
    case 0: return sock;
    case 1: fprintf(stderr, "attach refused: %s", reply); exit(3);
    default: fprintf(stderr, "spantapd closed the connection\n"); exit(2);
    }
}

/* The interface frames claim to arrive on: -i's name, looked up now, or the first rule's. */
static uint32_t receiving_ifindex(const char *ifname, const struct spantap_rule_cache *cache)
{
    if (ifname)
        return if_nametoindex(ifname);
    return cache->count ? cache->rules[0].ifindex : 0;
}

int main(int argc, char **argv)
{
    const char *path = "/run/spantap/spantapd.sock", *name = "c-producer", *ifname = NULL;
    long count = 100, length = 128, wait_seconds = 0, pps = 0, seconds = 0, batch = 32;
    for (int opt; (opt = getopt(argc, argv, "s:n:i:r:d:b:c:l:w:")) != -1;) {
        switch (opt) {
        case 's': path = optarg; break;
        case 'n': name = optarg; break;
        case 'i': ifname = optarg; break;
        case 'r': pps = atol(optarg); break;
        case 'd': seconds = atol(optarg); break;
        case 'b': batch = atol(optarg); break;
        case 'c': count = atol(optarg); break;
        case 'l': length = atol(optarg); break;
        case 'w': wait_seconds = atol(optarg); break;
        default: return 1;
        }
    }
    if (length < 60 || length > 9000 || batch < 1 || batch > 4096) {
        fprintf(stderr, "length must be 60..9000 and batch 1..4096\n");
        return 1;
    }
    static char reply[65536];
    int fds[2];
    int sock = attach(path, name, reply, sizeof reply, fds);

    struct stat st;
    fstat(fds[0], &st);
    void *mapping = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
    struct spantap_producer producer;
    if (mapping == MAP_FAILED || spantap_producer_init(&producer, mapping, (uint64_t)st.st_size, fds[1]) != 0) {
        fprintf(stderr, "the memfd is not a version-%u SpanTap ring\n", SPANTAP_RING_VERSION);
        return 3;
    }
    static struct spantap_rule_cache cache;
    uint32_t ifindex = 0;

    /* Test frames: locally administered MACs, EtherType 0x88b5 (local experimental), then the
     * sequence number, so a capture on the output can check order and completeness. */
    unsigned char frame[9000] = { 0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x88, 0xb5 };
    uint64_t start = now_ns(), deadline = start + (uint64_t)seconds * 1000000000u, next_report = start + 1000000000u;
    uint64_t batch_interval = pps > 0 ? (uint64_t)batch * 1000000000u / (uint64_t)pps : 0, next_batch = start;
    long seq = 0, offered = 0, mirrored = 0;
    while (seconds > 0 ? now_ns() < deadline : seq < count) {
        uint64_t now = now_ns();
        if (now >= next_report) {
            printf("offered=%ld mirrored=%ld generation=%llu\n", offered, mirrored, (unsigned long long)cache.generation);
            fflush(stdout);
            offered = mirrored = 0;
            next_report += 1000000000u;
        }
        if (batch_interval) {
            if (now < next_batch) {
                struct timespec pause = { 0, (long)(next_batch - now < 1000000 ? next_batch - now : 1000000) };
                nanosleep(&pause, NULL);
                continue;
            }
            next_batch += batch_interval;
        }
        if (spantap_rules_refresh(&cache, producer.header) == 1)
            ifindex = receiving_ifindex(ifname, &cache);
        spantap_rules_tick(&cache, now);
        int rule = spantap_rules_find(&cache, ifindex, SPANTAP_RECEIVED);
        for (long i = 0; i < batch && (seconds > 0 || seq < count); i++, seq++, offered++) {
            switch (rule < 0 ? SPANTAP_SKIP : spantap_rules_sample(&cache, rule)) {
            case SPANTAP_MIRROR:
                memcpy(frame + 14, &seq, sizeof seq);
                if (spantap_producer_stage(&producer, &cache.rules[rule], frame, (uint32_t)length, now) == SPANTAP_ENQUEUED)
                    mirrored++;
                break;
            case SPANTAP_OVER_LIMIT:
                spantap_producer_count_rate_limited(&producer);
                break;
            case SPANTAP_SKIP:
                break;
            }
        }
        spantap_producer_publish(&producer);
    }
    printf("mirrored_packets=%llu mirror_drops_queue_full=%llu mirror_drops_no_frame=%llu\n",
           (unsigned long long)producer.mirrored_packets, (unsigned long long)producer.drops_queue_full,
           (unsigned long long)producer.drops_no_frame);
    fflush(stdout);
    sleep((unsigned)wait_seconds);
    close(sock); /* detach: spantapd drains and frees the ring */
    return 0;
}
