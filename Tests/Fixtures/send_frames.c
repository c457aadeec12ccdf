/* Sends exact Ethernet frames out of an interface, for tests that must know every byte.
 * Usage: send_frames IFNAME COUNT INTERVAL_US HEXFRAME [HEXFRAME ...]
 * Sends COUNT frames, cycling through the given frames, INTERVAL_US microseconds apart.
 * Run it inside a test host's namespace: ip netns exec hA-x send_frames eth0 400 200 0200... */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int parse_hex(const char *hex, unsigned char *out, int capacity)
{
    int length = (int)strlen(hex) / 2;
    if (length > capacity || strlen(hex) % 2 != 0)
        return -1;
    for (int i = 0; i < length; i++) {
        unsigned int byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
            return -1;
        out[i] = (unsigned char)byte;
    }
    return length;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: send_frames IFNAME COUNT INTERVAL_US HEXFRAME...\n");
        return 1;
    }
    int frames = argc - 4;
    static unsigned char bytes[64][9216];
    int lengths[64];
    if (frames > 64)
        return 1;
    for (int i = 0; i < frames; i++) {
        lengths[i] = parse_hex(argv[4 + i], bytes[i], sizeof bytes[i]);
        if (lengths[i] < 14) {
            fprintf(stderr, "frame %d is not hex of at least 14 bytes\n", i);
            return 1;
        }
    }
    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(argv[1]),
                              .sll_halen = ETH_ALEN };
    if (fd < 0 || to.sll_ifindex == 0) {
        perror(argv[1]);
        return 2;
    }
    long count = atol(argv[2]);
    useconds_t interval = (useconds_t)atol(argv[3]);
    struct timespec first, last;
    clock_gettime(CLOCK_MONOTONIC, &first);
    for (long n = 0; n < count; n++) {
        int i = (int)(n % frames);
        if (sendto(fd, bytes[i], (size_t)lengths[i], 0, (struct sockaddr *)&to, sizeof to) != lengths[i]) {
            perror("sendto");
            return 3;
        }
        if (interval)
            usleep(interval);
    }
    clock_gettime(CLOCK_MONOTONIC, &last);
    /* What a rate test divides by: the seconds frames flowed, without this process's start. */
    printf("%.6f\n", (double)(last.tv_sec - first.tv_sec) + (double)(last.tv_nsec - first.tv_nsec) / 1e9);
    return 0;
}
