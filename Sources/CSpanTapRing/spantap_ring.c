/* The ring ABI is fixed: these assertions fail the build if a compiler lays it out differently. */
#include <stddef.h>
#include "spantap_ring.h"

_Static_assert(sizeof(struct spantap_ring_header) == SPANTAP_RING_HEADER_SIZE, "header size");
_Static_assert(offsetof(struct spantap_ring_header, producer_index) == SPANTAP_RING_LINE, "producer line");
_Static_assert(offsetof(struct spantap_ring_header, consumer_index) == 2 * SPANTAP_RING_LINE, "consumer line");
_Static_assert(offsetof(struct spantap_ring_header, need_wakeup) == 2 * SPANTAP_RING_LINE + 8, "need_wakeup");
_Static_assert(sizeof(struct spantap_record) == SPANTAP_RECORD_SIZE, "record header size");
