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
 * Build: cc -std=c11 -O2 -I ../../Sources/CSpanTapRing/include -o spantap_producer spantap_producer.c
 * Run:   spantap_producer [-s SOCKET] [-n NAME] [-c COUNT] [-l LENGTH] [-w SECONDS]
 * It sends COUNT test frames (LENGTH bytes, sequence number in the payload) for the first rule's
 * ingress/output, prints its counters, waits SECONDS (default 0) and detaches.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "spantap_ring.h"

/* The reply is JSON written by spantapd; a real producer would use a JSON library. */
static long json_number(const char *json, const char *key)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = strstr(json, pattern);
    return at ? strtol(at + strlen(pattern), NULL, 10) : -1;
}

static int attach(const char *path, const char *name, char *reply, size_t reply_size, int fds[2])
{
    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    strncpy(address.sun_path, path, sizeof address.sun_path - 1);
    if (connect(sock, (struct sockaddr *)&address, sizeof address) != 0) {
        perror(path);
        exit(2);
    }
    char request[256];
    int length = snprintf(request, sizeof request, "{\"command\":\"attach-producer\",\"name\":\"%s\"}\n", name);
    if (write(sock, request, (size_t)length) != length) {
        perror("send attach-producer");
        exit(2);
    }
    union { struct cmsghdr align; char buf[CMSG_SPACE(2 * sizeof(int))]; } control;
    struct iovec iov = { .iov_base = reply, .iov_len = reply_size - 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                          .msg_controllen = sizeof control.buf };
    ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n <= 0) {
        fprintf(stderr, "spantapd closed the connection\n");
        exit(2);
    }
    reply[n] = '\0';
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    if (!strstr(reply, "\"ok\":true") || !cmsg || cmsg->cmsg_type != SCM_RIGHTS) {
        fprintf(stderr, "attach refused: %s", reply);
        exit(3);
    }
    memcpy(fds, CMSG_DATA(cmsg), 2 * sizeof(int));
    return sock;
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
    long ingress = json_number(reply, "ingress_ifindex"), output = json_number(reply, "output_id");
    long snap = json_number(reply, "maximum_packet_length");
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
