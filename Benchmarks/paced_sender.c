/* paced_sender.c - row 3's load: COUNT 64-byte frames out of one interface, paced or as a burst.
 *
 * trafgen's rate option (-b) does not pace: it sends each second's frames as one line-rate burst.
 * This sender keeps a steady rate: frames go out in groups on absolute deadlines, one group every
 * 100 us (5 frames at 50 kpps, 20 at 200 kpps), so on time the gap never exceeds a tenth of a
 * millisecond; after a late wake-up the groups it owes go out back to back, so the average rate
 * holds. A group is one sendmmsg(2), past the qdisc (PACKET_QDISC_BYPASS): one frame per sendto
 * topped out at 90-134 kpps on the 2-vCPU VM. PPS 0 sends as fast as the socket takes them (a
 * burst at line rate, in groups of 32).
 *
 * Frames: to DSTMAC from 02:00:5e:10:00:01, EtherType 0x88b5 (the receiving host counts and
 * drops them: no replies), an 8-byte sequence number, 0xa5 fill.
 *
 * Build: cc -O2 -o paced_sender paced_sender.c
 * Run (inside the sending host's namespace):
 *        paced_sender IFNAME DSTMAC COUNT PPS   -> sent=.. seconds=.. pps=.. send_errors=..
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { MAX_GROUP = 64 };

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s IFNAME DSTMAC COUNT PPS (PPS 0: a line-rate burst)\n", argv[0]);
        return 2;
    }
    unsigned mac[6];
    if (sscanf(argv[2], "%x:%x:%x:%x:%x:%x", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]) != 6) {
        fprintf(stderr, "paced_sender: bad MAC address %s\n", argv[2]);
        return 2;
    }
    long count = atol(argv[3]), pps = atol(argv[4]);
    int ifindex = (int)if_nametoindex(argv[1]);
    if (ifindex == 0 || count <= 0 || pps < 0) {
        fprintf(stderr, "paced_sender: bad interface, count or rate\n");
        return 2;
    }
    int fd = socket(AF_PACKET, SOCK_RAW, 0);  /* protocol 0: send only, receives nothing */
    if (fd < 0) {
        perror("paced_sender: socket");
        return 1;
    }
    int bypass = 1;
    (void)setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &bypass, sizeof bypass); /* older kernels: via the qdisc */
    struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = ifindex, .sll_halen = 6 };
    static unsigned char frames[MAX_GROUP][64];
    static struct iovec iov[MAX_GROUP];
    static struct mmsghdr messages[MAX_GROUP];
    for (int f = 0; f < MAX_GROUP; f++) {
        memset(frames[f], 0xa5, sizeof frames[f]);
        for (int i = 0; i < 6; i++) frames[f][i] = to.sll_addr[i] = (unsigned char)mac[i];
        memcpy(frames[f] + 6, "\x02\x00\x5e\x10\x00\x01\x88\xb5", 8);
        iov[f] = (struct iovec){ .iov_base = frames[f], .iov_len = sizeof frames[f] };
        messages[f].msg_hdr = (struct msghdr){ .msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov[f], .msg_iovlen = 1 };
    }

    /* One group per 100 us: GROUP frames, so that GROUP x 10 000 = PPS (at least 1 frame). */
    long group = pps > 0 ? (pps + 5000) / 10000 : 32;
    if (group < 1) group = 1;
    if (group > MAX_GROUP) group = MAX_GROUP;
    uint64_t period = pps > 0 ? (uint64_t)group * 1000000000u / (uint64_t)pps : 0;
    uint64_t start = now_ns(), deadline = start;
    long sent = 0, errors = 0;
    while (sent < count) {
        int wanted = (int)(count - sent < group ? count - sent : group);
        for (int f = 0; f < wanted; f++) {
            uint64_t sequence = (uint64_t)(sent + f);
            memcpy(frames[f] + 14, &sequence, sizeof sequence);
        }
        int done = 0;
        while (done < wanted) {   /* a full device queue takes part of a group: offer the rest again */
            int n = sendmmsg(fd, messages + done, (unsigned)(wanted - done), 0);
            if (n > 0) {
                done += n;
            } else if (n < 0 && (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)) {
                errors++;
            } else {
                perror("paced_sender: sendmmsg");
                return 1;
            }
        }
        sent += wanted;
        if (period == 0) continue;
        deadline += period;
        struct timespec at = { .tv_sec = (time_t)(deadline / 1000000000u), .tv_nsec = (long)(deadline % 1000000000u) };
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR) {}
    }
    double seconds = (double)(now_ns() - start) / 1e9;
    printf("sent=%ld seconds=%.3f pps=%.0f send_errors=%ld\n", sent, seconds, (double)sent / seconds, errors);
    close(fd);
    return 0;
}
