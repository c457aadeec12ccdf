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
_Static_assert(SPANTAP_RING_RULES_OFFSET + sizeof(struct spantap_rule_table) == SPANTAP_RING_PROGRAMS_OFFSET, "programs follow the rules");
_Static_assert(SPANTAP_RING_PROGRAMS_OFFSET + sizeof(struct spantap_program_table) == SPANTAP_RING_HEADER_SIZE, "slots follow the programs");
_Static_assert(SPANTAP_RING_HEADER_SIZE == 140160, "header size (version 4)");
_Static_assert(SPANTAP_RING_HEADER_SIZE % SPANTAP_RING_SLOT_ALIGN == 0, "slot 0 aligned");
_Static_assert(sizeof(struct spantap_record) == SPANTAP_RECORD_SIZE, "record header size");
_Static_assert(offsetof(struct spantap_record, direction) == 24, "record direction");

/* The documented numbers themselves, as literals: the assertions above compare the layout with the
 * header's own macros, which could change together with it; these fail the build if any documented
 * offset or size moves, which would break every producer already built against it. */
#define SPANTAP_PIN(type, field, offset) \
    _Static_assert(offsetof(struct type, field) == (offset), #type "." #field " is at byte " #offset)
_Static_assert(SPANTAP_RING_MAGIC == 0x474E495250544E53ull, "magic \"SNTPRING\"");
_Static_assert(SPANTAP_RING_LINE == 128, "128-byte lines");
_Static_assert(SPANTAP_RING_RULES_OFFSET == 384, "rule table at byte 384");
_Static_assert(SPANTAP_RING_SLOT_ALIGN == 64, "slots 64-byte aligned");
_Static_assert(SPANTAP_RULE_CAPACITY == 256 && SPANTAP_RULE_SIZE == 32, "256 rules of 32 bytes");
_Static_assert(SPANTAP_RING_PROGRAMS_OFFSET == 8704, "program table at byte 8704");
_Static_assert(SPANTAP_PROGRAM_CAPACITY == 64 && SPANTAP_FILTER_MAX_INSNS == 256, "64 programs of 256 instructions");
_Static_assert(sizeof(struct spantap_program_table) == 131456, "a line, 64 lengths, 64 x 256 instructions");
_Static_assert(SPANTAP_RECORD_SIZE == 32, "32-byte record header");
_Static_assert(sizeof(struct spantap_ring_header) == 384, "three 128-byte header lines");
_Static_assert(sizeof(struct spantap_rule_table) == 8320, "one line plus 256 rules");
_Static_assert(sizeof(struct spantap_rule) == 32, "32-byte rule");
_Static_assert(sizeof(struct spantap_record) == 32, "32-byte record");
_Static_assert(SPANTAP_RECEIVED == 0 && SPANTAP_TRANSMITTED == 1, "direction values");
_Static_assert(SPANTAP_TABLE_MIRROR_ONCE == 1, "mirror-once flag bit");
/* Line 0: geometry. */
SPANTAP_PIN(spantap_ring_header, magic, 0);
SPANTAP_PIN(spantap_ring_header, version, 8);
SPANTAP_PIN(spantap_ring_header, header_size, 12);
SPANTAP_PIN(spantap_ring_header, slot_count, 16);
SPANTAP_PIN(spantap_ring_header, slot_size, 20);
SPANTAP_PIN(spantap_ring_header, snap_length, 24);
SPANTAP_PIN(spantap_ring_header, rule_capacity, 28);
/* Line 1: the producer's. */
SPANTAP_PIN(spantap_ring_header, producer_index, 128);
SPANTAP_PIN(spantap_ring_header, mirrored_packets, 136);
SPANTAP_PIN(spantap_ring_header, mirrored_bytes, 144);
SPANTAP_PIN(spantap_ring_header, drops_queue_full, 152);
SPANTAP_PIN(spantap_ring_header, drops_no_frame, 160);
SPANTAP_PIN(spantap_ring_header, mirror_once_suppressed, 168);
SPANTAP_PIN(spantap_ring_header, drops_rate_limited, 176);
SPANTAP_PIN(spantap_ring_header, filter_rejected, 184);
SPANTAP_PIN(spantap_ring_header, rules_disabled, 192);
/* Line 2: the consumer's. */
SPANTAP_PIN(spantap_ring_header, consumer_index, 256);
SPANTAP_PIN(spantap_ring_header, need_wakeup, 264);
SPANTAP_PIN(spantap_ring_header, reserved1, 268);
SPANTAP_PIN(spantap_ring_header, drops_no_binding, 272);
/* The rule table (from byte 384 of the mapping). */
SPANTAP_PIN(spantap_rule_table, generation, 0);
SPANTAP_PIN(spantap_rule_table, rule_count, 8);
SPANTAP_PIN(spantap_rule_table, flags, 12);
SPANTAP_PIN(spantap_rule_table, rules, 128);
SPANTAP_PIN(spantap_rule, ifindex, 0);
SPANTAP_PIN(spantap_rule, direction, 4);
SPANTAP_PIN(spantap_rule, filter, 6);
SPANTAP_PIN(spantap_rule, output_id, 8);
SPANTAP_PIN(spantap_rule, rate, 12);
SPANTAP_PIN(spantap_rule, snap_length, 16);
SPANTAP_PIN(spantap_rule, generation, 20);
SPANTAP_PIN(spantap_rule, vlan_id, 24);
SPANTAP_PIN(spantap_rule, run_length, 26);
SPANTAP_PIN(spantap_rule, max_packets_per_second, 28);
/* The program table (from byte 8704 of the mapping). */
SPANTAP_PIN(spantap_program_table, program_count, 0);
SPANTAP_PIN(spantap_program_table, lengths, 128);
SPANTAP_PIN(spantap_program_table, programs, 384);
/* Each slot's record header. */
SPANTAP_PIN(spantap_record, captured_length, 0);
SPANTAP_PIN(spantap_record, original_length, 4);
SPANTAP_PIN(spantap_record, ifindex, 8);
SPANTAP_PIN(spantap_record, output_id, 12);
SPANTAP_PIN(spantap_record, timestamp_ns, 16);
SPANTAP_PIN(spantap_record, direction, 24);
SPANTAP_PIN(spantap_record, reserved, 28);
#undef SPANTAP_PIN

/* spantap_producer_stage out of line, for spantapd's own bindings (Swift): inlined into the
 * forwarding loop, its body made the loop's per-packet code slower even for frames that are never
 * staged (bench row 2, callgrind); a staged frame pays one call instead. */
enum spantap_enqueue_result spantap_producer_stage_call(struct spantap_producer *p, const struct spantap_rule *rule,
                                                        const void *frame, uint32_t length, uint64_t timestamp_ns)
{
    return spantap_producer_stage(p, rule, frame, length, timestamp_ns);
}
