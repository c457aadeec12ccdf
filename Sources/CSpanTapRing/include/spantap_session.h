/*
 * spantap_session.h - a producer's attachment to spantapd that outlives spantapd: attach over the
 * control socket, feed the ring, and when spantapd goes away (restart, upgrade, crash), stop
 * staging into the dead ring and attach again by itself, without the forwarding thread ever
 * blocking or waiting on spantapd. Header-only, C11 with POSIX threads (link with -pthread).
 *
 * Two threads take part:
 *   - the forwarding thread (one per session: a session is not shared between threads) calls,
 *     per batch, spantap_session_begin_batch, then spantap_session_offer per frame, then
 *     spantap_session_publish. None of them allocates, locks, or enters the kernel, except the
 *     eventfd write of the ring's own wake-up protocol (spantap_ring.h) when the sink sleeps.
 *   - a helper thread, started by spantap_session_start, does everything that can block: connect,
 *     the attach request, mmap, and watching the control connection. It blocks in poll(2) on
 *     that connection (waking every SPANTAP_SESSION_WATCH_MS to look at the ring and at stop
 *     requests); when the connection hangs up it offers the forwarding thread "detached", then
 *     attaches again with capped backoff (SPANTAP_SESSION_BACKOFF_FIRST_MS doubling to
 *     SPANTAP_SESSION_BACKOFF_MAX_MS) and offers the new ring.
 *
 * How the forwarding thread learns of a change (the cost per batch when all is well):
 *   (S) the helper offers an attachment (or the "detached" marker) by exchanging it into
 *       session->offer (acq_rel); the forwarding thread loads session->offer (relaxed) once per
 *       batch, and only if it is not NULL takes it with an exchange to NULL (acquire), which
 *       pairs with the helper's release: the new mapping is fully set up before it is used.
 *       Ownership moves with the exchange, so an attachment is never used after the helper
 *       freed it: an offer the forwarding thread never took comes back to the helper from its
 *       next exchange; one it took is given back with a store-release of its `released` word.
 *   Retirement (spantap_ring.h (E)) is seen in the generation load that spantap_rules_refresh
 *   makes anyway. So a batch with nothing new costs one relaxed load of a line nobody writes
 *   (session->offer) beyond what a producer without a session pays: no syscall, no RMW.
 *
 * What a producer sees:
 *   - spantapd reloads or is applied a new mirror table: the rules change under it (spantap_ring.h,
 *     "Rule table protocol"); nothing else happens.
 *   - spantapd stops cleanly (SIGTERM, systemctl restart, upgrade) or detaches the producer: the
 *     ring is retired; at its next batch the forwarding thread stops staging, counts the clones it
 *     would have made in drops_detached, and the helper attaches again as soon as a spantapd
 *     answers. The frames already published are drained into the outputs by the old spantapd.
 *   - spantapd crashes (SIGKILL, OOM): nothing is retired; the helper sees the hang-up within
 *     SPANTAP_SESSION_WATCH_MS at most and offers "detached"; the same re-attach follows. Clones
 *     staged into the dead ring are lost (nobody drains it).
 *   - spantapd quarantines the producer for breaking the ring protocol: retirement, as above.
 *   The switch to a new ring happens at a batch boundary (in spantap_session_begin_batch); the
 *   rule cache starts afresh (every rule is new, so every 1-in-N count restarts). Each attach
 *   after the first tells spantapd how many came before ("reattaches"), which status shows.
 */
#ifndef SPANTAP_SESSION_H
#define SPANTAP_SESSION_H

#if defined(__STRICT_ANSI__) && !defined(__cplusplus) && !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#error "spantap_session.h uses POSIX threads and sockets: build with -std=gnu11, or define _GNU_SOURCE or _POSIX_C_SOURCE=200809L before any #include"
#endif

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "spantap_ring.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SPANTAP_SESSION_WATCH_MS 100u
#define SPANTAP_SESSION_BACKOFF_FIRST_MS 50u
/* Capped at 1 s, not more, so a producer is back within about a second of a new spantapd's start. */
#define SPANTAP_SESSION_BACKOFF_MAX_MS 1000u
/* Longest attach reply read (it lists the rules: about 300 bytes each). */
#define SPANTAP_ATTACH_REPLY_MAX 131072u

/* ------------------------------------------------------------------------------------------- *
 * One attach request, for producers that manage their own connection (the session below uses
 * these from its helper thread). The control protocol is one JSON object per line:
 *     {"command":"attach-producer","name":"xpf-0","abi":4,"reattaches":0}
 * (optionally with "slot_count" and "slot_size", up to spantapd's --ring-slots/--ring-slot-size).
 * A successful reply carries two descriptors (SCM_RIGHTS): the ring's memfd, then its eventfd.
 * Keep the connection open for as long as the ring is fed: closing it detaches the producer.
 * ------------------------------------------------------------------------------------------- */

/* The reply is JSON written by spantapd; a real producer may use a JSON library. Returns the n-th
 * (from 0) number stored under key, e.g. the output_id of rule n, or -1 if there is none. */
static inline long spantap_json_number(const char *json, const char *key, int n)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = strstr(json, pattern);
    for (; at && n > 0; n--)
        at = strstr(at + 1, pattern);
    return at ? strtol(at + strlen(pattern), NULL, 10) : -1;
}

/* Connects to the control socket at path, with send and receive timeouts of timeout_ms so a hung
 * spantapd cannot hang the caller. Returns the socket, or -1 (errno set). */
static inline int spantap_connect(const char *path, unsigned timeout_ms)
{
    struct sockaddr_un address;
    size_t path_length = strlen(path);
    if (path_length >= sizeof address.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return -1;
    struct timeval timeout = { (time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000 };
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    memcpy(address.sun_path, path, path_length + 1);
    if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0 ||
        setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout) != 0 ||
        connect(sock, (struct sockaddr *)&address, sizeof address) != 0) {
        int saved = errno;
        close(sock);
        errno = saved;
        return -1;
    }
    return sock;
}

/* Sends one request line on sock and reads the reply line into reply (NUL-terminated, the newline
 * dropped). Returns 0 when the reply says "ok":true and carried the ring's memfd and eventfd
 * (stored in fds), 1 when spantapd refused (the reply says why), -1 when the connection failed. */
static inline int spantap_request_ring(int sock, const char *request, char *reply, size_t reply_size, int fds[2])
{
    size_t length = strlen(request);
    if (send(sock, request, length, MSG_NOSIGNAL) != (ssize_t)length)
        return -1;
    union { struct cmsghdr align; char buf[CMSG_SPACE(2 * sizeof(int))]; } control;
    size_t used = 0;
    int got_fds = 0;
    while (used < reply_size - 1 && !memchr(reply, '\n', used)) {
        struct iovec iov = { reply + used, reply_size - 1 - used };
        struct msghdr msg;
        memset(&msg, 0, sizeof msg);
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = got_fds ? NULL : control.buf;
        msg.msg_controllen = got_fds ? 0 : sizeof control.buf;
        ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        if (n <= 0)
            break;
        struct cmsghdr *cmsg = got_fds ? NULL : CMSG_FIRSTHDR(&msg);
        if (cmsg && cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS) {
            /* Take whatever arrived, so nothing leaks: exactly two is a ring, any other count is closed. */
            int received[2] = { -1, -1 };
            size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            memcpy(received, CMSG_DATA(cmsg), (count < 2 ? count : 2) * sizeof(int));
            if (count == 2) {
                fds[0] = received[0];
                fds[1] = received[1];
                got_fds = 1;
            } else {
                for (size_t i = 0; i < count && i < 2; i++)
                    close(received[i]);
            }
        }
        used += (size_t)n;
        reply[used] = '\0';
    }
    reply[used] = '\0';
    char *newline = strchr(reply, '\n');
    if (newline)
        *newline = '\0';
    if (got_fds && newline && strstr(reply, "\"ok\":true"))
        return 0;
    if (got_fds) {
        close(fds[0]);
        close(fds[1]);
    }
    return newline ? 1 : -1;
}

/* ------------------------------------------------------------------------------------------- *
 * The session.
 * ------------------------------------------------------------------------------------------- */

/* One attach: the connection, the mapped ring and the producer on it. Made and freed by the
 * helper; used by the forwarding thread between taking it and giving it back. */
struct spantap_attachment {
    struct spantap_producer producer;
    void *mapping;
    uint64_t mapping_size;
    int sock, memfd, eventfd;
    uint32_t released; /* forwarding thread: store-release 1 when it no longer uses this (S);
                          helper: load-acquire before unmapping */
    struct spantap_attachment *next; /* helper only: every attachment it still has to free */
};

/* What spantap_session_offer did with one frame: what the forwarder may count it as. */
enum spantap_offer {
    SPANTAP_OFFER_MIRRORED = 0,   /* staged; visible to spantapd at spantap_session_publish */
    SPANTAP_OFFER_SKIPPED = 1,    /* not selected: no rule for it, or the 1-in-N count said no */
    SPANTAP_OFFER_OVER_LIMIT = 2, /* selected, over its rule's max-packets-per-second (counted in
                                     the ring as drops_rate_limited) */
    SPANTAP_OFFER_QUEUE_FULL = 3, /* selected, the ring was full (the ring counts drops_queue_full) */
    SPANTAP_OFFER_TOO_LONG = 4,   /* selected, longer than a slot and no truncation (drops_no_frame) */
    SPANTAP_OFFER_DETACHED = 5,   /* selected by the last rules seen, but no spantapd is attached
                                     now (the session counts drops_detached) */
    SPANTAP_OFFER_FILTERED = 6,   /* its rule's filter rejected it (the ring counts filter_rejected;
                                     not counted while detached: it was never a clone) */
};

struct spantap_session {
    /* ---- set by spantap_session_start, read-only afterwards ---- */
    char socket_path[108];
    char name[65];
    /* Called on the helper thread with one line (no newline) when an attach fails for a new reason
     * or succeeds after failing, e.g. to log it; NULL: silent. */
    void (*log)(void *context, const char *line);
    void *log_context;

    /* ---- forwarding thread only ---- */
    struct spantap_attachment *current; /* NULL while detached */
    struct spantap_rule_cache cache;
    uint64_t now_ns;
    uint64_t drops_detached; /* clones selected while detached. forwarding thread: relaxed store;
                                anyone: relaxed load */

    /* ---- the handover (S) ---- */
    struct spantap_attachment *offer;  /* helper: exchange acq_rel. forwarding thread: relaxed
                                          load per batch, exchange to NULL (acquire) to take */
    struct spantap_attachment detached_marker; /* offered to say "the current ring is dead" */

    /* ---- helper thread ---- */
    pthread_t helper;
    uint32_t stopping;  /* spantap_session_stop: store-release 1; helper: load-acquire per wake */
    uint32_t attaches;  /* successful attaches. helper: relaxed store; anyone: relaxed load */
    uint32_t attach_failures; /* failed attempts since start. same */
    struct spantap_attachment *owned; /* every attachment not yet freed */
    struct spantap_attachment *watched; /* the one whose connection is watched; NULL: attaching */
    char last_error[160];
};

/* CLOCK_MONOTONIC in nanoseconds: the clock of the records' timestamps. */
static inline uint64_t spantap_session_clock_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static inline void spantap_session_log(struct spantap_session *s, const char *line)
{
    if (s->log)
        s->log(s->log_context, line);
}

static inline void spantap_attachment_free(struct spantap_attachment *a)
{
    if (a->mapping)
        munmap(a->mapping, (size_t)a->mapping_size);
    if (a->sock >= 0)
        close(a->sock);
    close(a->memfd);
    close(a->eventfd);
    free(a);
}

/* Helper thread: one attach attempt. Returns the new attachment, or NULL with s->last_error set. */
static inline struct spantap_attachment *spantap_session_attach_once(struct spantap_session *s)
{
    int sock = spantap_connect(s->socket_path, 2000);
    if (sock < 0) {
        snprintf(s->last_error, sizeof s->last_error, "cannot connect to %s: %s", s->socket_path, strerror(errno));
        return NULL;
    }
    char request[256];
    uint32_t attaches = __atomic_load_n(&s->attaches, __ATOMIC_RELAXED);
    snprintf(request, sizeof request, "{\"command\":\"attach-producer\",\"name\":\"%s\",\"abi\":%u,\"reattaches\":%u}\n",
             s->name, SPANTAP_RING_VERSION, attaches);
    char *reply = (char *)malloc(SPANTAP_ATTACH_REPLY_MAX);
    struct spantap_attachment *a = (struct spantap_attachment *)calloc(1, sizeof *a);
    int fds[2] = { -1, -1 };
    int answer = reply && a ? spantap_request_ring(sock, request, reply, SPANTAP_ATTACH_REPLY_MAX, fds) : -1;
    if (answer != 0) {
        snprintf(s->last_error, sizeof s->last_error, "attach %s: %.120s", answer == 1 ? "refused" : "failed",
                 answer == 1 ? reply : strerror(errno));
        close(sock);
        free(reply);
        free(a);
        return NULL;
    }
    /* The mapping must be exactly what the reply describes: the memfd's size, the header's
     * geometry and the reply's numbers must agree, or the ring is not used. */
    struct stat st;
    long slot_count = spantap_json_number(reply, "slot_count", 0), slot_size = spantap_json_number(reply, "slot_size", 0);
    long mapping_size = spantap_json_number(reply, "mapping_size", 0);
    free(reply);
    a->sock = sock;
    a->memfd = fds[0];
    a->eventfd = fds[1];
    if (fstat(a->memfd, &st) != 0 || st.st_size <= 0 || (long)st.st_size != mapping_size) {
        snprintf(s->last_error, sizeof s->last_error, "attach: the memfd's size does not match the reply's mapping_size");
        spantap_attachment_free(a);
        return NULL;
    }
    void *mapping = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, a->memfd, 0);
    if (mapping == MAP_FAILED) {
        snprintf(s->last_error, sizeof s->last_error, "mmap ring: %s", strerror(errno));
        spantap_attachment_free(a);
        return NULL;
    }
    a->mapping = mapping;
    a->mapping_size = (uint64_t)st.st_size;
    const struct spantap_ring_header *h = (const struct spantap_ring_header *)mapping;
    if (spantap_producer_init(&a->producer, mapping, a->mapping_size, a->eventfd) != 0 ||
        (long)h->slot_count != slot_count || (long)h->slot_size != slot_size) {
        snprintf(s->last_error, sizeof s->last_error, "the memfd is not a version-%u SpanTap ring of the geometry the reply gave",
                 SPANTAP_RING_VERSION);
        spantap_attachment_free(a);
        return NULL;
    }
    return a;
}

/* Helper thread: hands `a` (an attachment or the detached marker) to the forwarding thread (S). */
static inline void spantap_session_hand_over(struct spantap_session *s, struct spantap_attachment *a)
{
    struct spantap_attachment *untaken = __atomic_exchange_n(&s->offer, a, __ATOMIC_ACQ_REL);
    if (untaken && untaken != &s->detached_marker)
        __atomic_store_n(&untaken->released, 1, __ATOMIC_RELAXED); /* never taken: ours again */
}

/* Helper thread: frees every attachment the forwarding thread gave back, except the watched one. */
static inline void spantap_session_reap(struct spantap_session *s)
{
    for (struct spantap_attachment **link = &s->owned; *link;) {
        struct spantap_attachment *a = *link;
        if (a != s->watched && __atomic_load_n(&a->released, __ATOMIC_ACQUIRE)) {
            *link = a->next;
            spantap_attachment_free(a);
        } else {
            link = &a->next;
        }
    }
}

/* Helper thread: is the watched connection still up? Blocks up to SPANTAP_SESSION_WATCH_MS. */
static inline int spantap_session_alive(struct spantap_session *s)
{
    struct spantap_attachment *a = s->watched;
    struct pollfd watch = { a->sock, POLLIN, 0 };
    int ready = poll(&watch, 1, (int)SPANTAP_SESSION_WATCH_MS);
    if (ready < 0 && errno == EINTR)
        return 1;
    /* spantapd sends nothing unasked after the attach reply: anything readable is the hang-up. */
    if (ready != 0)
        return 0;
    uint64_t generation = __atomic_load_n(&spantap_ring_rules(a->producer.header)->generation, __ATOMIC_ACQUIRE);
    return generation != SPANTAP_RULES_RETIRED;
}

static inline void spantap_session_sleep_ms(unsigned ms)
{
    struct timespec pause = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&pause, &pause) != 0 && errno == EINTR) {
    }
}

static inline void *spantap_session_helper(void *context)
{
    struct spantap_session *s = (struct spantap_session *)context;
    unsigned backoff = SPANTAP_SESSION_BACKOFF_FIRST_MS;
    int failing = 0;
    char logged[sizeof s->last_error] = "";
    while (!__atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE)) {
        spantap_session_reap(s);
        if (s->watched) {
            if (spantap_session_alive(s))
                continue;
            spantap_session_hand_over(s, &s->detached_marker);
            close(s->watched->sock);
            s->watched->sock = -1;
            s->watched = NULL;
            spantap_session_log(s, "spantapd went away; attaching again");
            continue;
        }
        struct spantap_attachment *a = spantap_session_attach_once(s);
        if (!a) {
            __atomic_store_n(&s->attach_failures, s->attach_failures + 1, __ATOMIC_RELAXED);
            if (strcmp(logged, s->last_error) != 0) { /* each new reason once, not every retry */
                memcpy(logged, s->last_error, sizeof logged);
                spantap_session_log(s, s->last_error);
            }
            failing = 1;
            for (unsigned slept = 0; slept < backoff && !__atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE);
                 slept += SPANTAP_SESSION_BACKOFF_FIRST_MS)
                spantap_session_sleep_ms(SPANTAP_SESSION_BACKOFF_FIRST_MS);
            backoff = backoff * 2 < SPANTAP_SESSION_BACKOFF_MAX_MS ? backoff * 2 : SPANTAP_SESSION_BACKOFF_MAX_MS;
            continue;
        }
        a->next = s->owned;
        s->owned = a;
        s->watched = a;
        __atomic_store_n(&s->attaches, s->attaches + 1, __ATOMIC_RELAXED);
        spantap_session_hand_over(s, a);
        if (failing)
            spantap_session_log(s, "attached");
        failing = 0;
        logged[0] = '\0';
        backoff = SPANTAP_SESSION_BACKOFF_FIRST_MS;
    }
    return NULL;
}

/* Starts a session: copies path and name, starts the helper thread (which attaches as soon as a
 * spantapd answers; until then the session is detached). The helper blocks every signal, so the
 * forwarder's own signal handling is unchanged. Returns 0, or an errno value. */
static inline int spantap_session_start(struct spantap_session *s, const char *socket_path, const char *name,
                                        void (*log)(void *context, const char *line), void *log_context)
{
    memset(s, 0, sizeof *s);
    if (strlen(socket_path) >= sizeof s->socket_path || strlen(name) == 0 || strlen(name) >= sizeof s->name ||
        strpbrk(name, "\"\\"))
        return EINVAL;
    strcpy(s->socket_path, socket_path);
    strcpy(s->name, name);
    s->log = log;
    s->log_context = log_context;
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    int failed = pthread_create(&s->helper, NULL, spantap_session_helper, s);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    return failed;
}

/* Forwarding thread: stops using the current ring and gives it back to the helper (S). */
static inline void spantap_session_leave(struct spantap_session *s)
{
    if (!s->current)
        return;
    __atomic_store_n(&s->current->released, 1, __ATOMIC_RELEASE);
    s->current = NULL;
}

/* Forwarding thread, out of the common path: take what the helper offers. */
static inline void spantap_session_take(struct spantap_session *s)
{
    struct spantap_attachment *taken = __atomic_exchange_n(&s->offer, NULL, __ATOMIC_ACQUIRE);
    if (!taken)
        return;
    spantap_session_leave(s);
    if (taken == &s->detached_marker)
        return;
    s->current = taken;
    spantap_rules_forget(&s->cache);
}

/* Forwarding thread, once per batch, before its first offer. Returns 1 if a ring is attached, 0
 * while detached (offers then return SPANTAP_OFFER_DETACHED or SPANTAP_OFFER_SKIPPED). */
static inline int spantap_session_begin_batch(struct spantap_session *s, uint64_t now_ns)
{
    if (__builtin_expect(__atomic_load_n(&s->offer, __ATOMIC_RELAXED) != NULL, 0)) /* (S) */
        spantap_session_take(s);
    s->now_ns = now_ns;
    if (!s->current)
        return 0;
    if (spantap_rules_refresh(&s->cache, s->current->producer.header) == SPANTAP_REFRESH_RETIRED) {
        spantap_session_leave(s);
        return 0;
    }
    spantap_rules_tick(&s->cache, now_ns);
    return 1;
}

/* Forwarding thread, per frame crossing ifindex in direction (SPANTAP_RECEIVED after the forward
 * decision, SPANTAP_TRANSMITTED for frames actually sent): find its rule (by VLAN unit when the
 * port is mirrored by unit), filter, sample, stage. Never blocks. */
static inline enum spantap_offer spantap_session_offer(struct spantap_session *s, uint32_t ifindex, uint32_t direction,
                                                       const void *frame, uint32_t length)
{
    int r = spantap_rules_find(&s->cache, ifindex, direction);
    if (r >= 0 && s->cache.rules[r].vlan_id != 0)
        r = spantap_rules_find_unit(&s->cache, r, spantap_frame_vlan(frame, length));
    if (r < 0)
        return SPANTAP_OFFER_SKIPPED;
    if ((r = spantap_rules_select(&s->cache, r, frame, length)) < 0) {
        if (s->current)
            spantap_producer_count_filtered(&s->current->producer);
        return SPANTAP_OFFER_FILTERED;
    }
    enum spantap_sample sample = spantap_rules_sample(&s->cache, r);
    if (sample == SPANTAP_SKIP)
        return SPANTAP_OFFER_SKIPPED;
    if (!s->current) {
        __atomic_store_n(&s->drops_detached, s->drops_detached + 1, __ATOMIC_RELAXED);
        return SPANTAP_OFFER_DETACHED;
    }
    if (sample == SPANTAP_OVER_LIMIT) {
        spantap_producer_count_rate_limited(&s->current->producer);
        return SPANTAP_OFFER_OVER_LIMIT;
    }
    switch (spantap_producer_stage(&s->current->producer, &s->cache.rules[r], frame, length, s->now_ns)) {
    case SPANTAP_ENQUEUED: return SPANTAP_OFFER_MIRRORED;
    case SPANTAP_DROP_QUEUE_FULL: return SPANTAP_OFFER_QUEUE_FULL;
    default: return SPANTAP_OFFER_TOO_LONG;
    }
}

/* Forwarding thread, once per batch after its last offer: makes the batch visible. */
static inline void spantap_session_publish(struct spantap_session *s)
{
    if (s->current)
        spantap_producer_publish(&s->current->producer);
}

/* The producer on the current ring, for what the session does not wrap (mirror-once's suppressed
 * count, the ring's counters), or NULL while detached. Forwarding thread only. */
static inline struct spantap_producer *spantap_session_producer(struct spantap_session *s)
{
    return s->current ? &s->current->producer : NULL;
}

/* Stops the helper, detaches and frees everything. Call after the forwarding thread's last batch
 * (from it, or once it has been joined). Frames published and not yet drained stay with
 * spantapd, which drains them when it sees the connection close. */
static inline void spantap_session_stop(struct spantap_session *s)
{
    __atomic_store_n(&s->stopping, 1, __ATOMIC_RELEASE);
    pthread_join(s->helper, NULL);
    spantap_session_leave(s);
    struct spantap_attachment *untaken = __atomic_exchange_n(&s->offer, NULL, __ATOMIC_ACQUIRE);
    (void)untaken; /* it is on the owned list like every other */
    while (s->owned) {
        struct spantap_attachment *a = s->owned;
        s->owned = a->next;
        spantap_attachment_free(a);
    }
    s->watched = NULL;
}

#ifdef __cplusplus
}
#endif

#endif /* SPANTAP_SESSION_H */
