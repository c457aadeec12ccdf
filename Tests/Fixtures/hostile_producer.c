/*
 * hostile_producer.c - a producer that breaks the ring protocol on purpose, for the daemon's
 * trust-boundary tests. It attaches like any producer (spantap_attach.h), then does what -m says:
 *   backwards  publish 8 frames, wait until they are consumed, move producer_index back by 5
 *   ahead      publish 8 frames, wait until they are consumed, move producer_index 2^40 ahead
 *   forge      publish -c frames claiming rule 0's interface but another rule's output_id, -c
 *              frames for output_id 4242, which no output has, and -c frames claiming rule 0's
 *              interface and output but the transmitted direction, which no rule grants
 *   badlen     publish -c records whose captured_length exceeds the slot, -c whose
 *              captured_length exceeds original_length, and -c with direction 7
 *   reattach   send a second attach-producer on the same connection and print the reply
 *   cycle      attach, map, unmap and detach -c times (names NAME-0, NAME-1, ...)
 *   storm      for -t seconds write the eventfd in a tight loop without publishing anything,
 *              except one frame every 100 ms (so the consumer has a real frame to find now and then)
 *   quiet      once the sink sleeps, publish -c frames without the wake-up (as a producer that
 *              died right after its store would): only a drain (detach, shutdown) can read them
 * Then it waits up to -w seconds for spantapd to close the connection, printing
 * "connection closed by spantapd" if it does.
 * Usage: hostile_producer -s SOCKET -m MODE [-n NAME] [-c COUNT] [-t SECONDS] [-w SECONDS]
 */
#define _GNU_SOURCE
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "spantap_session.h"

static const unsigned char test_frame[64] = { 0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x88, 0xb5 };

struct attached {
    int sock, fds[2];
    void *mapping;
    size_t size;
    struct spantap_producer producer;
    char reply[65536];
};

static int attach(const char *path, const char *name, struct attached *a)
{
    char request[256];
    snprintf(request, sizeof request, "{\"command\":\"attach-producer\",\"name\":\"%s\",\"abi\":%u}\n", name,
             SPANTAP_RING_VERSION);
    a->sock = spantap_connect(path, 5000);
    if (a->sock < 0 || spantap_request_ring(a->sock, request, a->reply, sizeof a->reply, a->fds) != 0) {
        fprintf(stderr, "attach failed: %s\n", a->sock < 0 ? "cannot connect" : a->reply);
        return -1;
    }
    struct stat st;
    fstat(a->fds[0], &st);
    a->size = (size_t)st.st_size;
    a->mapping = mmap(NULL, a->size, PROT_READ | PROT_WRITE, MAP_SHARED, a->fds[0], 0);
    if (a->mapping == MAP_FAILED || spantap_producer_init(&a->producer, a->mapping, a->size, a->fds[1]) != 0) {
        fprintf(stderr, "not a ring\n");
        return -1;
    }
    return 0;
}

static void detach(struct attached *a)
{
    munmap(a->mapping, a->size);
    close(a->fds[0]);
    close(a->fds[1]);
    close(a->sock);
}

/* Wakes the consumer whether or not it asked to be: a hostile producer does not wait to be asked. */
static void wake(struct attached *a)
{
    uint64_t one = 1;
    ssize_t ignored = write(a->fds[1], &one, sizeof one);
    (void)ignored;
}

static void wait_consumed(struct attached *a)
{
    for (int i = 0; i < 5000; i++) {
        if (__atomic_load_n(&a->producer.header->consumer_index, __ATOMIC_ACQUIRE) == a->producer.producer_index)
            return;
        usleep(1000);
    }
    fprintf(stderr, "frames were not consumed\n");
    exit(4);
}

/* Writes a record header of the producer's choosing into the next slot and publishes it. */
static void publish_raw(struct attached *a, uint32_t captured, uint32_t original, uint32_t direction)
{
    struct spantap_producer *p = &a->producer;
    uint8_t *slot = p->slots + (uint64_t)(p->producer_index & p->slot_mask) * p->header->slot_size;
    struct spantap_record record = { .captured_length = captured, .original_length = original,
                                     .ifindex = (uint32_t)spantap_json_number(a->reply, "ingress_ifindex", 0),
                                     .output_id = (uint32_t)spantap_json_number(a->reply, "output_id", 0),
                                     .direction = direction };
    memcpy(slot, &record, sizeof record);
    __atomic_store_n(&p->header->producer_index, ++p->producer_index, __ATOMIC_RELEASE);
}

static void enqueue(struct attached *a, uint32_t ifindex, uint32_t output, long count)
{
    struct spantap_rule rule = { .ifindex = ifindex, .direction = SPANTAP_RECEIVED, .output_id = output, .rate = 1 };
    for (long i = 0; i < count; i++)
        spantap_producer_enqueue(&a->producer, &rule, test_frame, sizeof test_frame, 0);
}

int main(int argc, char **argv)
{
    const char *path = NULL, *mode = NULL, *name = "hostile";
    long count = 10, wait_seconds = 0, storm_seconds = 3;
    for (int opt; (opt = getopt(argc, argv, "s:m:n:c:t:w:")) != -1;) {
        switch (opt) {
        case 's': path = optarg; break;
        case 'm': mode = optarg; break;
        case 'n': name = optarg; break;
        case 'c': count = atol(optarg); break;
        case 't': storm_seconds = atol(optarg); break;
        case 'w': wait_seconds = atol(optarg); break;
        default: return 1;
        }
    }
    if (!path || !mode)
        return 1;
    static struct attached a;
    if (strcmp(mode, "cycle") == 0) {
        for (long i = 0; i < count; i++) {
            char numbered[96], request[160], reply[512];
            snprintf(numbered, sizeof numbered, "%s-%ld", name, i);
            if (attach(path, numbered, &a) != 0)
                return 2;
            /* Detach explicitly and wait for the answer, so the next attach finds this one gone. */
            snprintf(request, sizeof request, "{\"command\":\"detach-producer\",\"name\":\"%s\"}\n", numbered);
            if (write(a.sock, request, strlen(request)) < 0 || read(a.sock, reply, sizeof reply) <= 0)
                return 2;
            detach(&a);
        }
        printf("cycles=%ld\n", count);
        return 0;
    }
    if (attach(path, name, &a) != 0)
        return 2;
    uint32_t ingress = (uint32_t)spantap_json_number(a.reply, "ingress_ifindex", 0);
    uint32_t output = (uint32_t)spantap_json_number(a.reply, "output_id", 0);
    if (strcmp(mode, "backwards") == 0 || strcmp(mode, "ahead") == 0) {
        enqueue(&a, ingress, output, 8);
        wait_consumed(&a);
        uint64_t index = a.producer.producer_index;
        uint64_t broken = strcmp(mode, "backwards") == 0 ? index - 5 : index + (1ull << 40);
        __atomic_store_n(&a.producer.header->producer_index, broken, __ATOMIC_RELEASE);
        wake(&a);
    } else if (strcmp(mode, "forge") == 0) {
        long other = -1;
        for (int i = 1; (other = spantap_json_number(a.reply, "output_id", i)) >= 0 && (uint32_t)other == output; i++) {}
        if (other < 0) {
            fprintf(stderr, "forge needs a grant with two outputs: %s\n", a.reply);
            return 3;
        }
        enqueue(&a, ingress, (uint32_t)other, count);
        enqueue(&a, ingress, 4242, count);
        struct spantap_rule egress = { .ifindex = ingress, .direction = SPANTAP_TRANSMITTED, .output_id = output, .rate = 1 };
        for (long i = 0; i < count; i++)
            spantap_producer_enqueue(&a.producer, &egress, test_frame, sizeof test_frame, 0);
    } else if (strcmp(mode, "badlen") == 0) {
        for (long i = 0; i < count; i++)
            publish_raw(&a, a.producer.header->slot_size, a.producer.header->slot_size, SPANTAP_RECEIVED);
        for (long i = 0; i < count; i++)
            publish_raw(&a, 60, 59, SPANTAP_RECEIVED);
        for (long i = 0; i < count; i++)
            publish_raw(&a, 60, 60, 7);
        wake(&a);
    } else if (strcmp(mode, "storm") == 0) {
        uint64_t start = spantap_session_clock_ns(), next_frame = start, writes = 0, published = 0;
        while (spantap_session_clock_ns() - start < (uint64_t)storm_seconds * 1000000000u) {
            for (int i = 0; i < 1000; i++, writes++)
                wake(&a);
            if (spantap_session_clock_ns() >= next_frame) {
                enqueue(&a, ingress, output, 1);
                published++;
                next_frame += 100000000u;
            }
        }
        printf("storm writes=%llu published=%llu\n", (unsigned long long)writes, (unsigned long long)published);
    } else if (strcmp(mode, "quiet") == 0) {
        for (int i = 0; i < 5000 && !__atomic_load_n(&a.producer.header->need_wakeup, __ATOMIC_SEQ_CST); i++)
            usleep(1000);
        usleep(50000); /* past the sink's last look at the ring before it sleeps */
        struct spantap_rule rule = { .ifindex = ingress, .direction = SPANTAP_RECEIVED, .output_id = output, .rate = 1 };
        for (long i = 0; i < count; i++)
            spantap_producer_stage(&a.producer, &rule, test_frame, sizeof test_frame, 0);
        __atomic_store_n(&a.producer.header->producer_index, a.producer.producer_index, __ATOMIC_RELEASE);
    } else if (strcmp(mode, "reattach") == 0) {
        int fds[2];
        char request[160];
        snprintf(request, sizeof request, "{\"command\":\"attach-producer\",\"name\":\"%s-again\",\"abi\":%u}\n", name,
                 SPANTAP_RING_VERSION);
        int again = spantap_request_ring(a.sock, request, a.reply, sizeof a.reply, fds);
        printf("second attach %s: %s\n", again == 0 ? "accepted" : "refused", a.reply);
        if (again == 0) {
            close(fds[0]);
            close(fds[1]);
        }
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 1;
    }
    printf("%s done\n", mode);
    fflush(stdout);
    struct pollfd pfd = { .fd = a.sock, .events = POLLIN };
    char byte;
    if (poll(&pfd, 1, (int)wait_seconds * 1000) > 0 && read(a.sock, &byte, 1) == 0)
        printf("connection closed by spantapd\n");
    detach(&a);
    return 0;
}
