/*
 * spantap_producer.c - an external forwarder feeding spantapd, in plain C: a stand-in for a real
 * AF_XDP dataplane that shows everything a producer in another language needs.
 *
 *   1. Start a session (spantap_session.h): a helper thread connects to spantapd's control socket,
 *      sends {"command":"attach-producer","name":"NAME","abi":4,"reattaches":N}, receives the
 *      ring's memfd and eventfd (SCM_RIGHTS), maps and checks the ring, and from then on watches
 *      the connection. If spantapd restarts or crashes it attaches again by itself; this thread
 *      never waits for it.
 *   2. Per batch of frames "received": spantap_session_begin_batch (takes a new ring if the helper
 *      has one, refreshes the rule cache: one load unless spantapd changed the rules, ticks the
 *      max-packets-per-second budgets), spantap_session_offer per frame (find the rule for the
 *      receiving interface and the frame's VLAN unit, sample, stage), spantap_session_publish
 *      once. Rules change under the producer on every reload or apply; it never re-attaches for
 *      that. When the rules change it looks its interface up again, so an interface deleted and
 *      re-created (new ifindex) is followed.
 *   3. Detach by stopping the session (spantapd drains the ring into the outputs and frees it; the
 *      same happens if the producer dies).
 *
 * Build: cc -std=gnu11 -O2 -pthread -I ../../Sources/CSpanTapRing/include -o spantap_producer spantap_producer.c
 * Run:   spantap_producer [-s SOCKET] [-n NAME] [-i IFNAME] [-r PPS] [-d SECONDS] [-b BATCH]
 *                         [-c COUNT] [-l LENGTH] [-v VLAN] [-w SECONDS] [-a SECONDS]
 *   -i  frames claim to arrive on IFNAME (default: the interface of spantapd's first rule)
 *   -r  offer PPS frames per second, paced per batch (default: as fast as possible)
 *   -d  run for SECONDS (default: until COUNT frames are offered; -c default 100)
 *   -b  frames per batch, i.e. per publish (default 32)
 *   -l  frame length (60..9000, default 128); the sequence number is in the payload
 *   -v  tag every frame with 802.1Q VLAN id VLAN (a unit); repeat -v to cycle through several
 *   -w  stay attached SECONDS after the last frame
 *   -a  wait at most SECONDS for the first attach before offering frames (default 5); exits 2 if
 *       no spantapd answered, 3 if it refused
 * Each second it prints "offered=N mirrored=N detached=N attached=0|1 attaches=N generation=G"
 * (counts for that second); at the end the ring's totals.
 */
#define _GNU_SOURCE
#include <net/if.h>

#include "spantap_session.h"

static void log_line(void *context, const char *line)
{
    (void)context;
    fprintf(stderr, "spantap_producer: %s\n", line);
}

/* The interface frames claim to arrive on: -i's name, looked up now, or the first rule's. */
static uint32_t receiving_ifindex(const char *ifname, const struct spantap_rule_cache *cache)
{
    if (ifname)
        return if_nametoindex(ifname);
    return cache->count ? cache->rules[0].ifindex : 0;
}

/* Test frames: locally administered MACs, optionally an 802.1Q tag, EtherType 0x88b5 (local
 * experimental), then the sequence number, so a capture on the output can check order and
 * completeness. Returns the offset of the sequence number. */
static size_t build_frame(unsigned char *frame, long vlan)
{
    static const unsigned char macs[12] = { 0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01 };
    memcpy(frame, macs, sizeof macs);
    size_t at = 12;
    if (vlan > 0) {
        frame[at++] = 0x81;
        frame[at++] = 0x00;
        frame[at++] = (unsigned char)(vlan >> 8 & 0x0f);
        frame[at++] = (unsigned char)(vlan & 0xff);
    }
    frame[at++] = 0x88;
    frame[at++] = 0xb5;
    return at;
}

int main(int argc, char **argv)
{
    const char *path = "/run/spantap/spantapd.sock", *name = "c-producer", *ifname = NULL;
    long count = 100, length = 128, wait_seconds = 0, pps = 0, seconds = 0, batch = 32, attach_seconds = 5;
    long vlans[16];
    int vlan_count = 0;
    for (int opt; (opt = getopt(argc, argv, "s:n:i:r:d:b:c:l:v:w:a:")) != -1;) {
        switch (opt) {
        case 's': path = optarg; break;
        case 'n': name = optarg; break;
        case 'i': ifname = optarg; break;
        case 'r': pps = atol(optarg); break;
        case 'd': seconds = atol(optarg); break;
        case 'b': batch = atol(optarg); break;
        case 'c': count = atol(optarg); break;
        case 'l': length = atol(optarg); break;
        case 'v':
            if (vlan_count == 16 || atol(optarg) < 1 || atol(optarg) > 4094) {
                fprintf(stderr, "at most 16 -v, each 1..4094\n");
                return 1;
            }
            vlans[vlan_count++] = atol(optarg);
            break;
        case 'w': wait_seconds = atol(optarg); break;
        case 'a': attach_seconds = atol(optarg); break;
        default: return 1;
        }
    }
    if (length < 60 || length > 9000 || batch < 1 || batch > 4096) {
        fprintf(stderr, "length must be 60..9000 and batch 1..4096\n");
        return 1;
    }
    static struct spantap_session session;
    int failed = spantap_session_start(&session, path, name, log_line, NULL);
    if (failed) {
        fprintf(stderr, "cannot start a session: %s\n", strerror(failed));
        return 1;
    }
    /* A forwarder would start forwarding at once; this stand-in waits for its first ring so a
     * fixed -c COUNT is not offered into the void. */
    uint64_t give_up = spantap_session_clock_ns() + (uint64_t)attach_seconds * 1000000000u;
    while (!spantap_session_begin_batch(&session, spantap_session_clock_ns())) {
        if (spantap_session_clock_ns() >= give_up) {
            int refused = strstr(session.last_error, "refused") != NULL;
            fprintf(stderr, "no ring after %ld s: %s\n", attach_seconds, session.last_error);
            return refused ? 3 : 2;
        }
        spantap_session_sleep_ms(5);
    }

    static unsigned char frames[16][9000];
    size_t sequence_at[16];
    for (int v = 0; v < (vlan_count ? vlan_count : 1); v++)
        sequence_at[v] = build_frame(frames[v], vlan_count ? vlans[v] : 0);
    uint32_t ifindex = receiving_ifindex(ifname, &session.cache);
    uint64_t seen_generation = session.cache.generation;
    uint64_t start = spantap_session_clock_ns(), deadline = start + (uint64_t)seconds * 1000000000u;
    uint64_t next_report = start + 1000000000u;
    uint64_t batch_interval = pps > 0 ? (uint64_t)batch * 1000000000u / (uint64_t)pps : 0, next_batch = start;
    long seq = 0, offered = 0, mirrored = 0;
    uint64_t detached_before = 0;
    while (seconds > 0 ? spantap_session_clock_ns() < deadline : seq < count) {
        uint64_t now = spantap_session_clock_ns();
        if (now >= next_report) {
            printf("offered=%ld mirrored=%ld detached=%llu attached=%d attaches=%u generation=%llu\n", offered, mirrored,
                   (unsigned long long)(session.drops_detached - detached_before), session.current != NULL,
                   __atomic_load_n(&session.attaches, __ATOMIC_RELAXED), (unsigned long long)session.cache.generation);
            fflush(stdout);
            offered = mirrored = 0;
            detached_before = session.drops_detached;
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
        spantap_session_begin_batch(&session, now);
        if (session.cache.generation != seen_generation) {
            seen_generation = session.cache.generation;
            ifindex = receiving_ifindex(ifname, &session.cache);
        }
        for (long i = 0; i < batch && (seconds > 0 || seq < count); i++, seq++, offered++) {
            int v = vlan_count ? (int)(seq % vlan_count) : 0;
            memcpy(frames[v] + sequence_at[v], &seq, sizeof seq);
            if (spantap_session_offer(&session, ifindex, SPANTAP_RECEIVED, frames[v], (uint32_t)length) == SPANTAP_OFFER_MIRRORED)
                mirrored++;
        }
        spantap_session_publish(&session);
    }
    struct spantap_producer *producer = spantap_session_producer(&session);
    printf("mirrored_packets=%llu mirror_drops_queue_full=%llu mirror_drops_no_frame=%llu drops_detached=%llu "
           "filter_rejected=%llu\n",
           producer ? (unsigned long long)producer->mirrored_packets : 0ull,
           producer ? (unsigned long long)producer->drops_queue_full : 0ull,
           producer ? (unsigned long long)producer->drops_no_frame : 0ull, (unsigned long long)session.drops_detached,
           producer ? (unsigned long long)producer->filter_rejected : 0ull);
    fflush(stdout);
    sleep((unsigned)wait_seconds);
    spantap_session_stop(&session); /* detach: spantapd drains and frees the ring */
    return 0;
}
