/* spantap_ring_calls.h - out-of-line entry points of the header-only producer, compiled into
 * spantapd (spantap_ring.c) for its Swift side. External producers do not need this file. */
#ifndef SPANTAP_RING_CALLS_H
#define SPANTAP_RING_CALLS_H

#include "spantap_ring.h"

enum spantap_enqueue_result spantap_producer_stage_call(struct spantap_producer *p, const struct spantap_rule *rule,
                                                        const void *frame, uint32_t length, uint64_t timestamp_ns);

#endif /* SPANTAP_RING_CALLS_H */
