/* gre_send_loop.c - the ERSPAN row's baseline: the least a remote output can do, prebuilt ERSPAN
 * Type III packets (a 20-byte GRE + ERSPAN header, then the benchmark frame) sent with sendmmsg
 * in batches of BATCH through a raw GRE socket set up as spantapd's (connected to REMOTE, from
 * LOCAL, DF set, receiving nothing). SLOTS packets are laid out one after another and sent in
 * turn: the memory the sink reads its frames from, so neither side has the cache to itself.
 *
 * The frame is byte for byte spantap-bench's: 02:00:00:00:00:02 <- 02:00:00:00:00:01, EtherType
 * 0x88b5, 8-byte sequence number, 0xa5 fill. The headers are prebuilt once: no per-packet work.
 *
 * Build: cc -O2 -o gre_send_loop gre_send_loop.c
 * Run:   gre_send_loop REMOTE LOCAL SIZE SLOTS SECONDS BATCH   -> impl=c-sendmmsg size=.. frames=.. fps=..
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bench_clock.h"

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: gre_send_loop REMOTE LOCAL SIZE SLOTS SECONDS BATCH\n");
        return 1;
    }
    size_t size = (size_t)atol(argv[3]), slots = (size_t)atol(argv[4]);
    double seconds = atof(argv[5]);
    unsigned batch = (unsigned)atoi(argv[6]);
    struct sockaddr_in remote = { .sin_family = AF_INET }, local = { .sin_family = AF_INET };
    if (inet_pton(AF_INET, argv[1], &remote.sin_addr) != 1 || inet_pton(AF_INET, argv[2], &local.sin_addr) != 1 || batch < 1 ||
        slots % batch) {
        fprintf(stderr, "gre_send_loop: REMOTE and LOCAL are IPv4 addresses, SLOTS a multiple of BATCH\n");
        return 1;
    }
    int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_GRE);
    struct sock_filter drop = BPF_STMT(BPF_RET | BPF_K, 0);
    struct sock_fprog nothing = { .len = 1, .filter = &drop };
    int probe = IP_PMTUDISC_DO;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &nothing, sizeof nothing) < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof probe) < 0 ||
        bind(fd, (struct sockaddr *)&local, sizeof local) < 0 || connect(fd, (struct sockaddr *)&remote, sizeof remote) < 0) {
        perror("gre socket");
        return 2;
    }
    /* GRE with sequence, protocol 0x22EB; ERSPAN Type III: version 2, session 1, granularity 01. */
    static const unsigned char erspan[20] = { 0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 0, 0x20, 0x00, 0x00, 0x01,
                                              0, 0, 0, 0, 0, 0, 0x00, 0x02 };
    static const unsigned char ethernet[14] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xb5 };
    unsigned char *packets = malloc(slots * (sizeof erspan + size));
    struct iovec *vectors = calloc(slots, sizeof *vectors);
    struct mmsghdr *messages = calloc(slots, sizeof *messages);
    for (size_t i = 0; i < slots; i++) {
        unsigned char *packet = packets + i * (sizeof erspan + size);
        memcpy(packet, erspan, sizeof erspan);
        memset(packet + sizeof erspan, 0xa5, size);
        memcpy(packet + sizeof erspan, ethernet, sizeof ethernet);
        uint64_t seq = i;
        memcpy(packet + sizeof erspan + 14, &seq, sizeof seq);
        vectors[i] = (struct iovec){ packet, sizeof erspan + size };
        messages[i].msg_hdr = (struct msghdr){ .msg_iov = &vectors[i], .msg_iovlen = 1 };
    }
    unsigned long long frames = 0, errors = 0;
    double start = now(), end = start + seconds, stop;
    for (size_t next = 0;;) {
        for (int round = 0; round < 128; round++, next = (next + batch) % slots) {
            int sent = sendmmsg(fd, messages + next, batch, 0);
            if (sent < 0) {
                errors++;
                frames++;
                continue;
            }
            frames += (unsigned)sent;
        }
        if ((stop = now()) >= end)
            break;
    }
    printf("impl=c-sendmmsg size=%zu batch=%u frames=%llu seconds=%.3f fps=%.0f send_errors=%llu\n", size, batch, frames,
           stop - start, (double)frames / (stop - start), errors);
    return 0;
}
