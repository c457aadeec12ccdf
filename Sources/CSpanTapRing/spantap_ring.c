/* The ring ABI is fixed: these assertions fail the build if a compiler lays it out differently. */
#include <stddef.h>
#include "spantap_ring.h"

_Static_assert(sizeof(struct spantap_ring_header) == SPANTAP_RING_RULES_OFFSET, "three header lines");
_Static_assert(offsetof(struct spantap_ring_header, producer_index) == SPANTAP_RING_LINE, "producer line");
_Static_assert(offsetof(struct spantap_ring_header, consumer_index) == 2 * SPANTAP_RING_LINE, "consumer line");
_Static_assert(offsetof(struct spantap_ring_header, need_wakeup) == 2 * SPANTAP_RING_LINE + 8, "need_wakeup");
_Static_assert(offsetof(struct spantap_ring_header, rule_capacity) == 28, "rule_capacity");
_Static_assert(sizeof(struct spantap_rule) == SPANTAP_RULE_SIZE, "rule size");
_Static_assert(offsetof(struct spantap_rule_table, rules) == SPANTAP_RING_LINE, "rules start on the table's second line");
_Static_assert(SPANTAP_RING_RULES_OFFSET + sizeof(struct spantap_rule_table) == SPANTAP_RING_HEADER_SIZE, "slots follow the table");
_Static_assert(SPANTAP_RING_HEADER_SIZE == 8704, "header size (versions 2 and 3)");
_Static_assert(SPANTAP_RING_HEADER_SIZE % SPANTAP_RING_SLOT_ALIGN == 0, "slot 0 aligned");
_Static_assert(sizeof(struct spantap_record) == SPANTAP_RECORD_SIZE, "record header size");
_Static_assert(offsetof(struct spantap_record, direction) == 24, "record direction");

/* spantap_producer_stage out of line, for spantapd's own bindings (Swift): inlined into the
 * forwarding loop, its body made the loop's per-packet code slower even for frames that are never
 * staged (bench row 2, callgrind); a staged frame pays one call instead. */
enum spantap_enqueue_result spantap_producer_stage_call(struct spantap_producer *p, const struct spantap_rule *rule,
                                                        const void *frame, uint32_t length, uint64_t timestamp_ns)
{
    return spantap_producer_stage(p, rule, frame, length, timestamp_ns);
}
