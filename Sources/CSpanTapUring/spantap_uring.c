#define _GNU_SOURCE
#include "spantap_uring.h"

#include <errno.h>
#include <linux/fs.h>
#include <liburing.h>
#include <stdlib.h>

struct spantap_uring {
    struct io_uring ring;
    unsigned entries;
};

struct spantap_uring *spantap_uring_open(unsigned entries, int *error)
{
    struct spantap_uring *uring = calloc(1, sizeof *uring);
    if (!uring) {
        *error = -ENOMEM;
        return NULL;
    }
    /* SINGLE_ISSUER / DEFER_TASKRUN would need kernel 6.1; keep the flags any 5.6+ kernel takes. */
    int result = io_uring_queue_init(entries, &uring->ring, 0);
    if (result < 0) {
        free(uring);
        *error = result;
        return NULL;
    }
    struct io_uring_probe *probe = io_uring_get_probe_ring(&uring->ring);
    int writes = probe && io_uring_opcode_supported(probe, IORING_OP_WRITE);
    io_uring_free_probe(probe);
    if (!writes) {
        io_uring_queue_exit(&uring->ring);
        free(uring);
        *error = -EOPNOTSUPP;
        return NULL;
    }
    uring->entries = entries;
    return uring;
}

void spantap_uring_close(struct spantap_uring *uring)
{
    if (!uring)
        return;
    io_uring_queue_exit(&uring->ring);
    free(uring);
}

int spantap_uring_write_batch(struct spantap_uring *uring, struct spantap_uring_write *writes, unsigned count)
{
    if (count > uring->entries)
        return -EINVAL;
    unsigned submitted = 0;
    for (unsigned i = 0; i < count; i++) {
        if (writes[i].fd < 0)
            continue;
        struct io_uring_sqe *sqe = io_uring_get_sqe(&uring->ring);
        if (!sqe)
            return -EBUSY; /* cannot happen: every call reaps all it submitted */
        /* Offset -1: "the current position", which is what write(2) uses (TAPs have none). */
        io_uring_prep_write(sqe, writes[i].fd, writes[i].buffer, writes[i].length, (uint64_t)-1);
        /* Without it io_uring does not answer EAGAIN for a full non-blocking socket: it arms a
         * poll and completes the write whenever the reader makes room (in any order), and the
         * wait below would stall the sink on a slow reader. */
        sqe->rw_flags = RWF_NOWAIT;
        io_uring_sqe_set_data64(sqe, i);
        submitted++;
    }
    if (!submitted)
        return 0;
    int result;
    do {
        result = io_uring_submit_and_wait(&uring->ring, submitted);
    } while (result == -EINTR);
    if (result < 0)
        return result;
    /* Fewer taken than prepared (kernel out of memory): wait only for those, then report it. */
    unsigned expected = (unsigned)result, reaped = 0;
    while (reaped < expected) {
        struct io_uring_cqe *cqe;
        result = io_uring_wait_cqe(&uring->ring, &cqe);
        if (result == -EINTR)
            continue;
        if (result < 0)
            return result;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&uring->ring, head, cqe) {
            writes[io_uring_cqe_get_data64(cqe)].result = cqe->res;
            seen++;
        }
        io_uring_cq_advance(&uring->ring, seen);
        reaped += seen;
    }
    return expected == submitted ? 0 : -EIO;
}
