/* spantap_uring.h - the sink's batched writes through io_uring (liburing), kept in C because
 * liburing is mostly static inline functions and C11 atomics that Swift cannot import.
 *
 * One call submits a whole batch and waits for every completion, so the caller knows the fate of
 * each write before it releases any record to the ring's producer: nothing is ever left in flight
 * between calls. The writes are not linked (IOSQE_IO_LINK): a linked chain is issued one write at
 * a time through task work and measured slower than a write(2) loop into a TAP (0.7x). The caller
 * keeps ring order itself (see SinkWorker.drainSubmitting). Files are not registered: a registered
 * TAP fd stays referenced until the ring's asynchronous teardown, so a persistent TAP could not be
 * re-attached right after the sink let go of it. */
#ifndef SPANTAP_URING_H
#define SPANTAP_URING_H

#include <stdint.h>

struct spantap_uring;

/* One write of the batch. The caller fills fd, buffer, length; fd < 0 means "not submitted"
 * (result is then left untouched). result: bytes written or -errno. */
struct spantap_uring_write {
    const void *buffer;
    uint32_t length;
    int32_t fd;
    int32_t result;
    uint32_t reserved;
};

/* A ring for batches of up to `entries` writes. NULL with *error = -errno when io_uring is not
 * there or not allowed (ENOSYS: old kernel or seccomp; EPERM: kernel.io_uring_disabled;
 * EOPNOTSUPP: no IORING_OP_WRITE). */
struct spantap_uring *spantap_uring_open(unsigned entries, int *error);
void spantap_uring_close(struct spantap_uring *uring);

/* Submits writes[0..count) with fd >= 0 as one submission, waits for all, fills their result.
 * count <= entries. Returns 0, or -errno if the batch could not be submitted or reaped. */
int spantap_uring_write_batch(struct spantap_uring *uring, struct spantap_uring_write *writes, unsigned count);

#endif
