/* tap_write_loop.c - row 1's baseline: the least a sink can do, one write(2) per frame into a TAP.
 *
 * Attaches to the existing (persistent) TAP NAME exactly as SpanTap does (TUNSETIFF, IFF_TAP |
 * IFF_NO_PI, O_NONBLOCK), lays out SLOTS copies of the benchmark frame STRIDE bytes apart (the
 * same memory footprint as spantap-bench's ring), and writes them in turn for SECONDS.
 * The frame is byte for byte spantap-bench's: 02:00:00:00:00:02 <- 02:00:00:00:00:01, EtherType
 * 0x88b5, 8-byte sequence number, 0xa5 fill.
 *
 * Build: cc -O2 -o tap_write_loop tap_write_loop.c
 * Run:   tap_write_loop NAME SIZE SLOTS STRIDE SECONDS   -> impl=c-write size=.. frames=.. fps=..
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "bench_clock.h"

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: tap_write_loop NAME SIZE SLOTS STRIDE SECONDS\n");
        return 1;
    }
    size_t size = (size_t)atol(argv[2]), slots = (size_t)atol(argv[3]), stride = (size_t)atol(argv[4]);
    double seconds = atof(argv[5]);
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
    strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
    if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) != 0) {
        perror(argv[1]);
        return 2;
    }
    unsigned char *area = aligned_alloc(4096, (slots * stride + 4095) / 4096 * 4096);
    static const unsigned char header[14] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xb5 };
    for (size_t i = 0; i < slots; i++) {
        unsigned char *frame = area + i * stride + 24; /* where a ring slot keeps its frame */
        memset(frame, 0xa5, size);
        memcpy(frame, header, sizeof header);
        uint64_t seq = i;
        memcpy(frame + 14, &seq, sizeof seq);
    }
    unsigned long long frames = 0, errors = 0;
    double start = now(), end = start + seconds, stop;
    for (;;) {
        for (size_t i = 0; i < 4096; i++) {
            ssize_t n = write(fd, area + (frames % slots) * stride + 24, size);
            if (n == (ssize_t)size)
                frames++;
            else
                errors++, frames++;
        }
        if ((stop = now()) >= end)
            break;
    }
    printf("impl=c-write size=%zu frames=%llu seconds=%.3f fps=%.0f write_errors=%llu\n", size, frames,
           stop - start, (double)frames / (stop - start), errors);
    return 0;
}
