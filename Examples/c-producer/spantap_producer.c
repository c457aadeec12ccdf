/*
 * spantap_producer.c - an external forwarder feeding spantapd, in plain C.
 *
 * It shows everything a producer in another language needs:
 *   1. connect to spantapd's control socket and send one JSON line:
 *        {"command":"attach-producer","name":"NAME"}
 *   2. read the JSON reply; the ring's memfd and eventfd arrive with it (SCM_RIGHTS), and the
 *      reply's "rules" say which output_id each mirrored ingress interface goes to;
 *   3. mmap the memfd and feed frames with spantap_producer_enqueue_snap() from spantap_ring.h,
 *      capturing at most the rule's maximum_packet_length bytes (0: whole frames);
 *   4. detach by closing the socket (spantapd drains the ring into the outputs and frees it;
 *      the same happens if the producer dies).
 *
 * The control-socket part is in spantap_attach.h beside this file.
 *
 * Build: cc -std=c11 -O2 -I ../../Sources/CSpanTapRing/include -o spantap_producer spantap_producer.c
 * Run:   spantap_producer [-s SOCKET] [-n NAME] [-c COUNT] [-l LENGTH] [-w SECONDS]
 * It sends COUNT test frames (LENGTH bytes, sequence number in the payload) for the first rule's
 * ingress/output, prints its counters, waits SECONDS (default 0) and detaches.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "spantap_attach.h"
#include "spantap_ring.h"

static int attach(const char *path, const char *name, char *reply, size_t reply_size, int fds[2])
{
    int sock = spantap_connect(path);
    if (sock < 0) {
        perror(path);
        exit(2);
    }
    char request[256];
    snprintf(request, sizeof request, "{\"command\":\"attach-producer\",\"name\":\"%s\"}\n", name);
    switch (spantap_request_ring(sock, request, reply, reply_size, fds)) {
    case 0: return sock;
    case 1: fprintf(stderr, "attach refused: %s", reply); exit(3);
    default: fprintf(stderr, "spantapd closed the connection\n"); exit(2);
    }
}

int main(int argc, char **argv)
{
    const char *path = "/run/spantap/spantapd.sock", *name = "c-producer";
    long count = 100, length = 128, wait_seconds = 0;
    for (int opt; (opt = getopt(argc, argv, "s:n:c:l:w:")) != -1;) {
        switch (opt) {
        case 's': path = optarg; break;
        case 'n': name = optarg; break;
        case 'c': count = atol(optarg); break;
        case 'l': length = atol(optarg); break;
        case 'w': wait_seconds = atol(optarg); break;
        default: return 1;
        }
    }
    if (length < 60 || length > 9000) {
        fprintf(stderr, "length must be 60..9000\n");
        return 1;
    }
    char reply[65536];
    int fds[2];
    int sock = attach(path, name, reply, sizeof reply, fds);
    long ingress = spantap_json_number(reply, "ingress_ifindex", 0), output = spantap_json_number(reply, "output_id", 0);
    long snap = spantap_json_number(reply, "maximum_packet_length", 0);
    if (output < 0) {
        fprintf(stderr, "spantapd has no mirror rule to follow: %s", reply);
        return 3;
    }

    struct stat st;
    fstat(fds[0], &st);
    void *mapping = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
    struct spantap_producer producer;
    if (mapping == MAP_FAILED || spantap_producer_init(&producer, mapping, (uint64_t)st.st_size, fds[1]) != 0) {
        fprintf(stderr, "the memfd is not a SpanTap ring\n");
        return 3;
    }

    /* Test frames: locally administered MACs, EtherType 0x88b5 (local experimental), then the
     * sequence number, so a capture on the output can check order and completeness. */
    unsigned char frame[9000] = { 0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x88, 0xb5 };
    for (long seq = 0; seq < count; seq++) {
        memcpy(frame + 14, &seq, sizeof seq);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        spantap_producer_enqueue_snap(&producer, frame, (uint32_t)length, snap > 0 ? (uint32_t)snap : 0,
                                      (uint32_t)ingress, (uint32_t)output,
                                 (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec);
    }
    printf("mirrored_packets=%llu mirror_drops_queue_full=%llu mirror_drops_no_frame=%llu\n",
           (unsigned long long)producer.mirrored_packets, (unsigned long long)producer.drops_queue_full,
           (unsigned long long)producer.drops_no_frame);
    fflush(stdout);
    sleep((unsigned)wait_seconds);
    close(sock); /* detach: spantapd drains and frees the ring */
    return 0;
}
