//! The handoff ring's shared-memory layout (spantap_ring.h, version 4) as `#[repr(C)]` mirrors.
//!
//! Every number comes from the C header through build.rs (`generated` below), never typed here;
//! the offsets are asserted at compile time against those numbers, and `tests/layout.rs`
//! compares every field's offset with what a C compiler makes of the header.
//!
//! Shared words are atomics: another process (spantapd) writes the mapping while this one reads
//! it, so a plain field there would be a data race. Padding is atomic bytes for the same reason
//! (it is never read, but a reference to it must not claim it is immutable).

use std::mem::{offset_of, size_of};
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64};

/// The C headers' integer constants, as build.rs found them (all as u64).
#[allow(dead_code)]
pub mod generated {
    include!(concat!(env!("OUT_DIR"), "/abi_constants.rs"));
}

/// Narrows a header constant to the type the ABI gives it, failing the build if it does not fit.
const fn u32_of(value: u64) -> u32 {
    assert!(value <= u32::MAX as u64, "a spantap_ring.h constant does not fit its field");
    value as u32
}

pub const RING_MAGIC: u64 = generated::SPANTAP_RING_MAGIC;
/// The ABI version this crate speaks: SPANTAP_RING_VERSION of the header it was built against.
pub const RING_VERSION: u32 = u32_of(generated::SPANTAP_RING_VERSION);
pub const RING_LINE: usize = generated::SPANTAP_RING_LINE as usize;
pub const RULE_CAPACITY: usize = generated::SPANTAP_RULE_CAPACITY as usize;
pub const RULE_SIZE: usize = generated::SPANTAP_RULE_SIZE as usize;
pub const RULES_OFFSET: usize = generated::SPANTAP_RING_RULES_OFFSET as usize;
pub const PROGRAMS_OFFSET: usize = generated::SPANTAP_RING_PROGRAMS_OFFSET as usize;
/// Filter programs one ring's program table holds.
pub const PROGRAM_CAPACITY: usize = generated::SPANTAP_PROGRAM_CAPACITY as usize;
/// The longest filter program (spantap_filter.h's SPANTAP_FILTER_MAX_INSNS).
pub const FILTER_MAX_INSNS: usize = generated::SPANTAP_FILTER_MAX_INSNS as usize;
pub const HEADER_SIZE: u32 = u32_of(generated::SPANTAP_RING_HEADER_SIZE);
pub const SLOT_ALIGN: u32 = u32_of(generated::SPANTAP_RING_SLOT_ALIGN);
pub const RECORD_SIZE: u32 = u32_of(generated::SPANTAP_RECORD_SIZE);
pub const RULES_RETIRED: u64 = generated::SPANTAP_RULES_RETIRED;
pub const TABLE_MIRROR_ONCE: u32 = u32_of(generated::SPANTAP_TABLE_MIRROR_ONCE);
pub const TOKEN: u64 = generated::SPANTAP_TOKEN;
pub const RECEIVED: u32 = u32_of(generated::SPANTAP_RECEIVED);
pub const TRANSMITTED: u32 = u32_of(generated::SPANTAP_TRANSMITTED);
pub const SESSION_WATCH_MS: u64 = generated::SPANTAP_SESSION_WATCH_MS;
pub const SESSION_BACKOFF_FIRST_MS: u64 = generated::SPANTAP_SESSION_BACKOFF_FIRST_MS;
pub const SESSION_BACKOFF_MAX_MS: u64 = generated::SPANTAP_SESSION_BACKOFF_MAX_MS;
pub const ATTACH_REPLY_MAX: usize = generated::SPANTAP_ATTACH_REPLY_MAX as usize;

/// struct spantap_ring_header: the three 128-byte lines at the start of the mapping.
#[repr(C)]
pub struct RingHeader {
    // ---- line 0: geometry. spantapd writes it before sharing the memfd. ----
    pub magic: AtomicU64,
    pub version: AtomicU32,
    pub header_size: AtomicU32,
    pub slot_count: AtomicU32,
    pub slot_size: AtomicU32,
    pub snap_length: AtomicU32,
    pub rule_capacity: AtomicU32,
    pub pad0: [AtomicU8; RING_LINE - 32],
    // ---- producer line: only the producer writes. ----
    /// producer: store-release once per published batch; consumer: load-acquire. (A)
    pub producer_index: AtomicU64,
    /// The counters below: producer relaxed stores of its private copies; anyone relaxed loads.
    pub mirrored_packets: AtomicU64,
    pub mirrored_bytes: AtomicU64,
    pub drops_queue_full: AtomicU64,
    pub drops_no_frame: AtomicU64,
    pub mirror_once_suppressed: AtomicU64,
    pub drops_rate_limited: AtomicU64,
    /// Frames of a filtered rule its program rejected (they took no slot and no sample).
    pub filter_rejected: AtomicU64,
    /// Rules left out of the producer's copy at its last refresh (program missing or invalid):
    /// producer: relaxed store per refresh that changed the rules.
    pub rules_disabled: AtomicU64,
    pub pad1: [AtomicU8; RING_LINE - 72],
    // ---- consumer line: spantapd writes. ----
    /// consumer: store-release when done with slots; producer: load-acquire only when its cached
    /// copy says full. (B) Untrusted: see `Producer::stage`.
    pub consumer_index: AtomicU64,
    /// consumer: 1 before sleeping; producer: load after a seq_cst fence, exchange to 0. (C)
    pub need_wakeup: AtomicU32,
    pub reserved1: AtomicU32,
    pub drops_no_binding: AtomicU64,
    pub pad2: [AtomicU8; RING_LINE - 24],
}

/// struct spantap_rule, as the producer's private copy holds it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rule {
    pub ifindex: u32,
    /// abi::RECEIVED or abi::TRANSMITTED.
    pub direction: u16,
    /// 0: every frame. N (1..=PROGRAM_CAPACITY): only the frames program N - 1 of the program
    /// table accepts.
    pub filter: u16,
    pub output_id: u32,
    pub rate: u32,
    pub snap_length: u32,
    pub generation: u32,
    pub vlan_id: u16,
    pub run_length: u16,
    pub max_packets_per_second: u32,
}

/// One rule inside the shared table: the same 32 bytes, as the words the seqlock reader loads
/// one by one (relaxed), as spantap_rules_refresh does.
#[repr(C)]
pub struct SharedRule {
    pub words: [AtomicU32; RULE_SIZE / 4],
}

/// struct spantap_rule_table, at RULES_OFFSET. Written only by spantapd.
#[repr(C)]
pub struct RuleTable {
    /// spantapd: odd while writing, store-release even when done, RULES_RETIRED once retired.
    /// producer: load-acquire. (D) (E)
    pub generation: AtomicU64,
    pub rule_count: AtomicU32,
    pub flags: AtomicU32,
    pub pad: [AtomicU8; RING_LINE - 16],
    pub rules: [SharedRule; RULE_CAPACITY],
}

/// One instruction inside the shared program table (struct spantap_filter_insn): the two words
/// the seqlock reader loads one by one (relaxed), as spantap_rules_stage_program does.
#[repr(C)]
pub struct SharedInsn {
    pub words: [AtomicU32; 2],
}

/// struct spantap_program_table, at PROGRAMS_OFFSET: the rules' filter programs. Written only by
/// spantapd, inside the rule table's odd-generation window (D).
#[repr(C)]
pub struct ProgramTable {
    /// Programs in use (0..program_count), <= PROGRAM_CAPACITY.
    pub program_count: AtomicU32,
    pub reserved: AtomicU32,
    pub pad: [AtomicU8; RING_LINE - 8],
    /// Instructions of each program.
    pub lengths: [AtomicU32; PROGRAM_CAPACITY],
    pub programs: [[SharedInsn; FILTER_MAX_INSNS]; PROGRAM_CAPACITY],
}

/// struct spantap_record: precedes the frame bytes in every slot.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Record {
    pub captured_length: u32,
    pub original_length: u32,
    pub ifindex: u32,
    pub output_id: u32,
    pub timestamp_ns: u64,
    pub direction: u32,
    pub reserved: u32,
}

impl Rule {
    /// The rule from the eight words the table holds it in (host byte order, like the mapping).
    pub(crate) fn from_words(w: [u32; RULE_SIZE / 4]) -> Rule {
        let [direction_lo, direction_hi, filter_lo, filter_hi] = w[1].to_ne_bytes();
        let [vlan_lo, vlan_hi, run_lo, run_hi] = w[6].to_ne_bytes();
        Rule {
            ifindex: w[0],
            direction: u16::from_ne_bytes([direction_lo, direction_hi]),
            filter: u16::from_ne_bytes([filter_lo, filter_hi]),
            output_id: w[2],
            rate: w[3],
            snap_length: w[4],
            generation: w[5],
            vlan_id: u16::from_ne_bytes([vlan_lo, vlan_hi]),
            run_length: u16::from_ne_bytes([run_lo, run_hi]),
            max_packets_per_second: w[7],
        }
    }

    /// The inverse of `from_words`, for whoever writes a table (tests, benchmarks).
    pub fn to_words(&self) -> [u32; RULE_SIZE / 4] {
        let [direction_lo, direction_hi] = self.direction.to_ne_bytes();
        let [filter_lo, filter_hi] = self.filter.to_ne_bytes();
        let [vlan_lo, vlan_hi] = self.vlan_id.to_ne_bytes();
        let [run_lo, run_hi] = self.run_length.to_ne_bytes();
        [
            self.ifindex,
            u32::from_ne_bytes([direction_lo, direction_hi, filter_lo, filter_hi]),
            self.output_id,
            self.rate,
            self.snap_length,
            self.generation,
            u32::from_ne_bytes([vlan_lo, vlan_hi, run_lo, run_hi]),
            self.max_packets_per_second,
        ]
    }
}

impl Record {
    // Inlined: called once per staged frame, and out of line it cost a call and its copy (row 7).
    #[inline]
    pub(crate) fn to_bytes(self) -> [u8; RECORD_SIZE as usize] {
        let mut bytes = [0u8; RECORD_SIZE as usize];
        let words = [self.captured_length, self.original_length, self.ifindex, self.output_id];
        for (i, word) in words.iter().enumerate() {
            bytes[i * 4..i * 4 + 4].copy_from_slice(&word.to_ne_bytes());
        }
        bytes[16..24].copy_from_slice(&self.timestamp_ns.to_ne_bytes());
        bytes[24..28].copy_from_slice(&self.direction.to_ne_bytes());
        bytes[28..32].copy_from_slice(&self.reserved.to_ne_bytes());
        bytes
    }
}

// The layout the header documents, checked when the crate compiles.
const _: () = {
    assert!(size_of::<RingHeader>() == 3 * RING_LINE);
    assert!(offset_of!(RingHeader, producer_index) == RING_LINE);
    assert!(offset_of!(RingHeader, consumer_index) == 2 * RING_LINE);
    assert!(offset_of!(RingHeader, need_wakeup) == 2 * RING_LINE + 8);
    assert!(size_of::<Rule>() == RULE_SIZE && size_of::<SharedRule>() == RULE_SIZE);
    assert!(offset_of!(RingHeader, filter_rejected) == RING_LINE + 56 && offset_of!(RingHeader, rules_disabled) == RING_LINE + 64);
    assert!(offset_of!(Rule, filter) == 6 && offset_of!(Rule, output_id) == 8);
    assert!(offset_of!(Rule, vlan_id) == 24 && offset_of!(Rule, run_length) == 26);
    assert!(offset_of!(RuleTable, rules) == RING_LINE);
    assert!(RULES_OFFSET == size_of::<RingHeader>());
    assert!(PROGRAMS_OFFSET == RULES_OFFSET + size_of::<RuleTable>());
    assert!(size_of::<SharedInsn>() == 8 && offset_of!(ProgramTable, lengths) == RING_LINE);
    assert!(PROGRAM_CAPACITY <= u16::MAX as usize, "a rule's filter (u16) can name every program");
    assert!(HEADER_SIZE as usize == PROGRAMS_OFFSET + size_of::<ProgramTable>());
    assert!(size_of::<Record>() == RECORD_SIZE as usize);
    assert!(offset_of!(Record, timestamp_ns) == 16 && offset_of!(Record, direction) == 24);
    assert!(HEADER_SIZE % SLOT_ALIGN == 0);
};
