//! One handoff ring, producer side: the checked mapping (`Ring`) and the staging/publishing state
//! of the one thread that feeds it (`Producer`), as spantap_ring.h's header-only producer.

use std::fmt;
use std::fs::File;
use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::ptr::{self, NonNull};
use std::sync::atomic::{Ordering, fence};

use crate::abi::{self, ProgramTable, Record, RingHeader, Rule, RuleTable};
use crate::filter::Insn;
use crate::sys::{self, Mapping};

/// The geometry a ring was checked to have. Kept privately: after the check, the producer never
/// reads the geometry line of the mapping again (whatever is written there later).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub slot_count: u32,
    pub slot_size: u32,
    pub snap_length: u32,
    pub mapping_size: u64,
}

/// Why a mapping was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeometryError(pub String);

impl fmt::Display for GeometryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GeometryError {}

/// A mapped ring whose geometry was checked against the header's rules and, when it came from
/// spantapd, against the attach reply.
pub struct Ring {
    mapping: Mapping,
    geometry: Geometry,
    /// The memfd the mapping is of, kept open with it.
    memfd: OwnedFd,
}

impl Ring {
    /// Checks `mapping` as spantap_producer_init does, and, if `expected` is given (the attach
    /// reply's slot_count, slot_size and mapping_size), that the header says exactly that.
    pub(crate) fn check(mapping: Mapping, memfd: OwnedFd, expected: Option<Geometry>) -> Result<Ring, GeometryError> {
        let length = mapping.len() as u64;
        if length < abi::HEADER_SIZE as u64 {
            return Err(GeometryError(format!("a {length}-byte mapping is smaller than a ring header")));
        }
        // SAFETY: the mapping is at least HEADER_SIZE bytes, page-aligned, and RingHeader is
        // atomics only, so any bytes are a valid value and concurrent writes are not a race.
        let h = unsafe { mapping.base().cast::<RingHeader>().as_ref() };
        let load = |word: &std::sync::atomic::AtomicU32| word.load(Ordering::Relaxed);
        let (magic, version) = (h.magic.load(Ordering::Relaxed), load(&h.version));
        let (slot_count, slot_size, snap_length) = (load(&h.slot_count), load(&h.slot_size), load(&h.snap_length));
        let needed = abi::HEADER_SIZE as u64 + slot_count as u64 * slot_size as u64;
        let refuse = |why: String| Err(GeometryError(why));
        if magic != abi::RING_MAGIC || version != abi::RING_VERSION {
            return refuse(format!("not a version-{} SpanTap ring (magic {magic:#x}, version {version})", abi::RING_VERSION));
        }
        if load(&h.header_size) != abi::HEADER_SIZE || load(&h.rule_capacity) as usize != abi::RULE_CAPACITY {
            return refuse(format!("header_size {} / rule_capacity {} are not this ABI's", load(&h.header_size), load(&h.rule_capacity)));
        }
        if slot_count < 2 || !slot_count.is_power_of_two() {
            return refuse(format!("slot_count {slot_count} is not a power of two >= 2"));
        }
        if slot_size < abi::SLOT_ALIGN || slot_size % abi::SLOT_ALIGN != 0 {
            return refuse(format!("slot_size {slot_size} is not a multiple of {}", abi::SLOT_ALIGN));
        }
        if length < needed {
            return refuse(format!("the mapping has {length} bytes, its geometry needs {needed}"));
        }
        if snap_length > slot_size - abi::RECORD_SIZE {
            return refuse(format!("snap_length {snap_length} does not fit a {slot_size}-byte slot"));
        }
        let geometry = Geometry { slot_count, slot_size, snap_length, mapping_size: length };
        if let Some(reply) = expected {
            if (reply.slot_count, reply.slot_size, reply.mapping_size) != (slot_count, slot_size, length) {
                return refuse(format!(
                    "the ring ({slot_count} slots of {slot_size} bytes, {length} bytes mapped) is not what the reply \
                     gave ({} slots of {} bytes, {} bytes)",
                    reply.slot_count, reply.slot_size, reply.mapping_size
                ));
            }
        }
        Ok(Ring { mapping, geometry, memfd })
    }

    /// Maps a ring's memfd whole (its size from fstat) and checks it.
    pub(crate) fn map(memfd: OwnedFd, expected: Option<Geometry>) -> io::Result<Ring> {
        let size = File::from(memfd.try_clone()?).metadata()?.len();
        if let Some(reply) = expected {
            if reply.mapping_size != size {
                return Err(io::Error::other(format!(
                    "the memfd has {size} bytes, the reply's mapping_size is {}",
                    reply.mapping_size
                )));
            }
        }
        let length = usize::try_from(size).map_err(|_| io::Error::other("the memfd is too large to map"))?;
        let mapping = Mapping::shared(memfd.as_fd(), length)?;
        Ring::check(mapping, memfd, expected).map_err(io::Error::other)
    }

    /// A ring in a private memfd laid out as spantapd lays one out (geometry line, empty rule
    /// table at generation 0), for benchmarks and tests that play spantapd's part.
    pub fn create_private(slot_count: u32, slot_size: u32, snap_length: u32) -> io::Result<Ring> {
        let size = abi::HEADER_SIZE as u64 + slot_count as u64 * slot_size as u64;
        let memfd = sys::memfd(c"spantap-private-ring")?;
        File::from(memfd.try_clone()?).set_len(size)?;
        let mapping = Mapping::shared(memfd.as_fd(), size as usize)?;
        // SAFETY: a fresh mapping of `size` >= HEADER_SIZE bytes; RingHeader is atomics only.
        let h = unsafe { mapping.base().cast::<RingHeader>().as_ref() };
        h.magic.store(abi::RING_MAGIC, Ordering::Relaxed);
        h.version.store(abi::RING_VERSION, Ordering::Relaxed);
        h.header_size.store(abi::HEADER_SIZE, Ordering::Relaxed);
        h.slot_count.store(slot_count, Ordering::Relaxed);
        h.slot_size.store(slot_size, Ordering::Relaxed);
        h.snap_length.store(snap_length, Ordering::Relaxed);
        h.rule_capacity.store(abi::RULE_CAPACITY as u32, Ordering::Relaxed);
        Ring::check(mapping, memfd, None).map_err(io::Error::other)
    }

    /// The ring's memfd (e.g. to hand a private ring to another process, as spantapd does).
    pub fn memfd(&self) -> BorrowedFd<'_> {
        self.memfd.as_fd()
    }

    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    pub fn header(&self) -> &RingHeader {
        // SAFETY: checked to be at least HEADER_SIZE bytes; atomics only (see `check`).
        unsafe { self.mapping.base().cast::<RingHeader>().as_ref() }
    }

    pub fn rule_table(&self) -> &RuleTable {
        // SAFETY: RULES_OFFSET + size_of::<RuleTable>() == HEADER_SIZE <= the mapping's length
        // (abi.rs asserts it); the offset keeps 8-byte alignment; atomics only.
        unsafe { self.mapping.base().add(abi::RULES_OFFSET).cast::<RuleTable>().as_ref() }
    }

    pub fn program_table(&self) -> &ProgramTable {
        // SAFETY: PROGRAMS_OFFSET + size_of::<ProgramTable>() == HEADER_SIZE <= the mapping's
        // length (abi.rs asserts it); the offset keeps 8-byte alignment; atomics only.
        unsafe { self.mapping.base().add(abi::PROGRAMS_OFFSET).cast::<ProgramTable>().as_ref() }
    }

    /// Plays spantapd's part: writes `rules` into the table under the seqlock (D), with no
    /// programs (program_count 0), as spantapd does on every reload. For benchmarks and tests.
    pub fn write_rules(&self, rules: &[Rule], flags: u32) {
        self.write_table(rules, flags, &[]);
    }

    /// `write_rules` with filter programs: program p of `programs` is what a rule with filter
    /// p + 1 references. Writes what it is given, as a broken or hostile spantapd could: the
    /// lengths and program_count are the slices' (also beyond the table's limits), the
    /// instructions as many as fit (PROGRAM_CAPACITY programs of FILTER_MAX_INSNS).
    pub fn write_table(&self, rules: &[Rule], flags: u32, programs: &[&[Insn]]) {
        let table = self.rule_table();
        let generation = table.generation.load(Ordering::Relaxed);
        table.generation.store(generation + 1, Ordering::Relaxed);
        fence(Ordering::Release); // (D)
        table.rule_count.store(rules.len() as u32, Ordering::Relaxed);
        table.flags.store(flags, Ordering::Relaxed);
        for (shared, rule) in table.rules.iter().zip(rules) {
            for (word, value) in shared.words.iter().zip(rule.to_words()) {
                word.store(value, Ordering::Relaxed);
            }
        }
        let shared = self.program_table();
        shared.program_count.store(u32::try_from(programs.len()).unwrap_or(u32::MAX), Ordering::Relaxed);
        for ((length, slot), program) in shared.lengths.iter().zip(&shared.programs).zip(programs) {
            length.store(u32::try_from(program.len()).unwrap_or(u32::MAX), Ordering::Relaxed);
            for (insn, value) in slot.iter().zip(program.iter()) {
                for (word, value) in insn.words.iter().zip(value.to_words()) {
                    word.store(value, Ordering::Relaxed);
                }
            }
        }
        table.generation.store(generation + 2, Ordering::Release); // (D)
    }

    /// Plays spantapd's part: retires the ring (E).
    pub fn retire(&self) {
        self.rule_table().generation.store(abi::RULES_RETIRED, Ordering::Release); // (E)
    }
}

/// What staging one frame did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Staged {
    Enqueued,
    QueueFull,
    /// Longer than a slot, and neither the rule nor the ring truncates.
    TooLong,
}

/// The ring's counters as this producer last wrote them (its private copies).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingCounters {
    pub mirrored_packets: u64,
    pub mirrored_bytes: u64,
    pub drops_queue_full: u64,
    pub drops_no_frame: u64,
    pub mirror_once_suppressed: u64,
    pub drops_rate_limited: u64,
    pub filter_rejected: u64,
}

/// The feeding side of one ring, for one thread (struct spantap_producer). Stage frames, then
/// publish them once per batch.
pub struct Producer<'ring> {
    header: NonNull<RingHeader>,
    slots: NonNull<u8>,
    slot_size: u64,
    slot_mask: u64,
    slot_count: u64,
    /// Slot capacity, or the ring's snap_length when it has one.
    capture_limit: u32,
    ring_truncates: bool,
    /// Slots written so far, staged or published.
    producer_index: u64,
    /// Private copy of header.producer_index.
    published_index: u64,
    /// Last consumer_index seen; refreshed only when the ring looks full.
    cached_consumer: u64,
    counters: RingCounters,
    wakeup_fd: RawFd,
    ring: PhantomData<&'ring Ring>,
}

impl<'ring> Producer<'ring> {
    /// Starts feeding `ring`, waking its consumer through `wakeup_fd` (-1: never wakes anyone,
    /// for rings nobody sleeps on). Picks up the indices and counters already in the ring.
    pub fn new(ring: &'ring Ring, wakeup_fd: RawFd) -> Producer<'ring> {
        let h = ring.header();
        let g = ring.geometry;
        let counters = RingCounters {
            mirrored_packets: h.mirrored_packets.load(Ordering::Relaxed),
            mirrored_bytes: h.mirrored_bytes.load(Ordering::Relaxed),
            drops_queue_full: h.drops_queue_full.load(Ordering::Relaxed),
            drops_no_frame: h.drops_no_frame.load(Ordering::Relaxed),
            mirror_once_suppressed: h.mirror_once_suppressed.load(Ordering::Relaxed),
            drops_rate_limited: h.drops_rate_limited.load(Ordering::Relaxed),
            filter_rejected: h.filter_rejected.load(Ordering::Relaxed),
        };
        let index = h.producer_index.load(Ordering::Relaxed);
        Producer {
            header: NonNull::from(h),
            // SAFETY: HEADER_SIZE <= the checked mapping length: slot 0's address is in bounds.
            slots: unsafe { ring.mapping.base().add(abi::HEADER_SIZE as usize) },
            slot_size: g.slot_size as u64,
            slot_mask: g.slot_count as u64 - 1,
            slot_count: g.slot_count as u64,
            capture_limit: if g.snap_length != 0 { g.snap_length } else { g.slot_size - abi::RECORD_SIZE },
            ring_truncates: g.snap_length != 0,
            producer_index: index,
            published_index: index,
            cached_consumer: h.consumer_index.load(Ordering::Acquire), // (B)
            counters,
            wakeup_fd,
            ring: PhantomData,
        }
    }

    /// The same producer, its borrow of the ring forgotten.
    ///
    /// # Safety
    /// The ring's mapping must stay mapped for as long as the returned producer is used.
    pub(crate) unsafe fn unbound(self) -> Producer<'static> {
        Producer {
            header: self.header,
            slots: self.slots,
            slot_size: self.slot_size,
            slot_mask: self.slot_mask,
            slot_count: self.slot_count,
            capture_limit: self.capture_limit,
            ring_truncates: self.ring_truncates,
            producer_index: self.producer_index,
            published_index: self.published_index,
            cached_consumer: self.cached_consumer,
            counters: self.counters,
            wakeup_fd: self.wakeup_fd,
            ring: PhantomData,
        }
    }

    fn header(&self) -> &RingHeader {
        // SAFETY: points into the ring this producer borrows for 'ring (or, in a session, into the
        // attachment kept alive beside it); atomics only.
        unsafe { self.header.as_ref() }
    }

    /// Copies one frame into the next slot under `rule`, not yet visible to the consumer (see
    /// `publish`). Truncated to the rule's snap_length if set, else to the ring's; otherwise a
    /// frame longer than a slot is dropped. A full ring drops it. Drops are counted in the ring
    /// at once. Never blocks.
    ///
    /// consumer_index is written by another process and is not trusted: the ring counts as full
    /// whenever `producer_index - consumer_index` (wrapping) is not below slot_count, so a
    /// consumer_index ahead of producer_index (the difference wraps to a huge number) stops the
    /// producer instead of letting it overwrite unconsumed slots. The slot written is always
    /// `index & mask` of the privately kept geometry: in bounds whatever the mapping says.
    #[inline]
    pub fn stage(&mut self, rule: &Rule, frame: &[u8], timestamp_ns: u64) -> Staged {
        let length = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let snap = rule.snap_length;
        let limit = if snap != 0 && snap < self.capture_limit { snap } else { self.capture_limit };
        let mut captured = length;
        if length > limit {
            if !self.ring_truncates && snap == 0 {
                self.counters.drops_no_frame += 1;
                self.header().drops_no_frame.store(self.counters.drops_no_frame, Ordering::Relaxed);
                return Staged::TooLong;
            }
            captured = limit;
        }
        if self.producer_index.wrapping_sub(self.cached_consumer) >= self.slot_count {
            self.cached_consumer = self.header().consumer_index.load(Ordering::Acquire); // (B)
            if self.producer_index.wrapping_sub(self.cached_consumer) >= self.slot_count {
                self.counters.drops_queue_full += 1;
                self.header().drops_queue_full.store(self.counters.drops_queue_full, Ordering::Relaxed);
                return Staged::QueueFull;
            }
        }
        let record = Record {
            captured_length: captured,
            original_length: length,
            ifindex: rule.ifindex,
            output_id: rule.output_id,
            timestamp_ns,
            direction: rule.direction.into(),
            reserved: 0,
        };
        let offset = (self.producer_index & self.slot_mask) * self.slot_size;
        // SAFETY: slot `index & mask` lies inside the checked mapping (HEADER_SIZE + slot_count *
        // slot_size <= its length), and RECORD_SIZE + captured <= slot_size (captured <=
        // capture_limit <= slot_size - RECORD_SIZE). The consumer does not read this slot until
        // the release store of producer_index in `publish` (A), and reuses it only after its
        // release of consumer_index (B), so nobody else touches these bytes now. No reference to
        // the slot is made: it is written through raw pointers only.
        unsafe {
            let slot = self.slots.as_ptr().add(offset as usize);
            ptr::copy_nonoverlapping(record.to_bytes().as_ptr(), slot, abi::RECORD_SIZE as usize);
            ptr::copy_nonoverlapping(frame.as_ptr(), slot.add(abi::RECORD_SIZE as usize), captured as usize);
        }
        self.producer_index += 1;
        self.counters.mirrored_packets += 1;
        self.counters.mirrored_bytes += captured as u64;
        Staged::Enqueued
    }

    /// Makes every staged frame visible: one release store of producer_index and, only if the
    /// consumer went to sleep, one eventfd write. Costs one compare when nothing was staged.
    #[inline]
    pub fn publish(&mut self) {
        if self.producer_index == self.published_index {
            return;
        }
        self.published_index = self.producer_index;
        let h = self.header();
        h.producer_index.store(self.producer_index, Ordering::Release); // (A)
        h.mirrored_packets.store(self.counters.mirrored_packets, Ordering::Relaxed);
        h.mirrored_bytes.store(self.counters.mirrored_bytes, Ordering::Relaxed);
        fence(Ordering::SeqCst); // (C)
        if h.need_wakeup.load(Ordering::Relaxed) != 0 && h.need_wakeup.swap(0, Ordering::Relaxed) != 0 {
            sys::eventfd_signal(self.wakeup_fd);
        }
    }

    /// Stage + publish: one frame, visible at once.
    pub fn enqueue(&mut self, rule: &Rule, frame: &[u8], timestamp_ns: u64) -> Staged {
        let staged = self.stage(rule, frame, timestamp_ns);
        self.publish();
        staged
    }

    /// An egress copy not made because of mirror-once.
    pub fn count_suppressed(&mut self) {
        self.counters.mirror_once_suppressed += 1;
        self.header().mirror_once_suppressed.store(self.counters.mirror_once_suppressed, Ordering::Relaxed);
    }

    /// A clone not made because its rule's max_packets_per_second was used up.
    pub fn count_rate_limited(&mut self) {
        self.counters.drops_rate_limited += 1;
        self.header().drops_rate_limited.store(self.counters.drops_rate_limited, Ordering::Relaxed);
    }

    /// A frame its rule's filter rejected (`RuleCache::filter` said false).
    pub fn count_filtered(&mut self) {
        self.counters.filter_rejected += 1;
        self.header().filter_rejected.store(self.counters.filter_rejected, Ordering::Relaxed);
    }

    pub fn counters(&self) -> RingCounters {
        self.counters
    }

    /// Slots written so far (staged or published), for tests and benchmarks playing consumer.
    pub fn producer_index(&self) -> u64 {
        self.producer_index
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    const RULE: Rule = Rule { ifindex: 7, direction: 0, filter: 0, output_id: 3, rate: 1, snap_length: 0, generation: 2, vlan_id: 0, run_length: 0, max_packets_per_second: 0 };

    /// The record and frame bytes in slot `index` of `ring`.
    fn slot(ring: &Ring, index: u64) -> (Record, Vec<u8>) {
        let g = ring.geometry();
        let offset = abi::HEADER_SIZE as usize + (index & (g.slot_count as u64 - 1)) as usize * g.slot_size as usize;
        // SAFETY: the slot lies inside the mapping; the test is the only thread using the ring.
        let bytes = unsafe { std::slice::from_raw_parts(ring.mapping.base().as_ptr().add(offset), g.slot_size as usize) };
        let word = |at: usize| u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap());
        let record = Record {
            captured_length: word(0),
            original_length: word(4),
            ifindex: word(8),
            output_id: word(12),
            timestamp_ns: u64::from_ne_bytes(bytes[16..24].try_into().unwrap()),
            direction: word(24),
            reserved: word(28),
        };
        let frame = bytes[32..32 + record.captured_length as usize].to_vec();
        (record, frame)
    }

    #[test]
    fn staged_frames_become_visible_at_publish_with_their_records() {
        let ring = Ring::create_private(4, 128, 0).unwrap();
        let mut producer = Producer::new(&ring, -1);
        let frame: Vec<u8> = (0..90).collect();
        assert_eq!(producer.stage(&RULE, &frame, 42), Staged::Enqueued);
        assert_eq!(ring.header().producer_index.load(Ordering::Acquire), 0, "not visible before publish");
        producer.publish();
        assert_eq!(ring.header().producer_index.load(Ordering::Acquire), 1);
        assert_eq!(ring.header().mirrored_bytes.load(Ordering::Relaxed), 90);
        let (record, bytes) = slot(&ring, 0);
        assert_eq!(record, Record { captured_length: 90, original_length: 90, ifindex: 7, output_id: 3, timestamp_ns: 42, direction: 0, reserved: 0 });
        assert_eq!(bytes, frame);
    }

    #[test]
    fn long_frames_are_dropped_or_truncated_to_the_rule_or_ring_snap_length() {
        let ring = Ring::create_private(4, 128, 0).unwrap();
        let mut producer = Producer::new(&ring, -1);
        let frame = [0x5a; 200];
        assert_eq!(producer.stage(&RULE, &frame, 0), Staged::TooLong);
        assert_eq!(ring.header().drops_no_frame.load(Ordering::Relaxed), 1);
        assert_eq!(producer.stage(&Rule { snap_length: 60, ..RULE }, &frame, 0), Staged::Enqueued);
        let truncating = Ring::create_private(4, 128, 64).unwrap();
        let mut truncated = Producer::new(&truncating, -1);
        assert_eq!(truncated.stage(&RULE, &frame, 0), Staged::Enqueued);
        assert_eq!(truncated.stage(&Rule { snap_length: 500, ..RULE }, &frame, 0), Staged::Enqueued);
        producer.publish();
        truncated.publish();
        assert_eq!(slot(&ring, 0).0.captured_length, 60);
        assert_eq!((slot(&truncating, 0).0.captured_length, slot(&truncating, 0).0.original_length), (64, 200));
        assert_eq!(slot(&truncating, 1).0.captured_length, 64, "a rule's snap length never exceeds the slot");
    }

    #[test]
    fn a_full_ring_drops_until_the_consumer_moves() {
        let ring = Ring::create_private(4, 128, 0).unwrap();
        let mut producer = Producer::new(&ring, -1);
        for _ in 0..4 {
            assert_eq!(producer.stage(&RULE, &[1; 64], 0), Staged::Enqueued);
        }
        assert_eq!(producer.stage(&RULE, &[1; 64], 0), Staged::QueueFull);
        assert_eq!(ring.header().drops_queue_full.load(Ordering::Relaxed), 1);
        producer.publish();
        ring.header().consumer_index.store(2, Ordering::Release);
        assert_eq!(producer.stage(&RULE, &[1; 64], 0), Staged::Enqueued);
    }

    /// A consumer_index ahead of producer_index (a broken or hostile writer) must not make the
    /// producer believe slots are free: it would overwrite records not yet consumed.
    #[test]
    fn a_consumer_index_ahead_of_the_producer_counts_as_full() {
        let ring = Ring::create_private(4, 128, 0).unwrap();
        let mut producer = Producer::new(&ring, -1);
        for i in 0..4u8 {
            assert_eq!(producer.stage(&RULE, &[i; 64], 0), Staged::Enqueued);
        }
        producer.publish();
        for bogus in [5, 100, u64::MAX] {
            ring.header().consumer_index.store(bogus, Ordering::Release);
            assert_eq!(producer.stage(&RULE, &[9; 64], 0), Staged::QueueFull, "consumer_index {bogus}");
        }
        for i in 0..4u8 {
            assert_eq!(slot(&ring, i as u64).1, [i; 64], "slot {i} untouched");
        }
    }

    #[test]
    fn publish_wakes_a_sleeping_consumer_once() {
        let ring = Ring::create_private(4, 128, 0).unwrap();
        let (wakeup, mut sink) = UnixStream::pair().unwrap();
        sink.set_nonblocking(true).unwrap();
        let mut producer = Producer::new(&ring, wakeup.as_raw_fd());
        ring.header().need_wakeup.store(1, Ordering::Relaxed);
        producer.stage(&RULE, &[1; 64], 0);
        producer.publish();
        producer.publish(); // nothing staged: no second wake-up
        producer.stage(&RULE, &[1; 64], 0);
        producer.publish(); // the consumer is awake: no write
        assert_eq!(ring.header().need_wakeup.load(Ordering::Relaxed), 0);
        let mut written = [0u8; 16];
        assert_eq!(sink.read(&mut written).unwrap(), 8, "one eventfd write");
        assert_eq!(u64::from_ne_bytes(written[..8].try_into().unwrap()), 1);
    }

    fn remapped(ring: &Ring) -> (Mapping, OwnedFd) {
        let memfd = sys::memfd(c"copy").unwrap();
        let size = ring.geometry().mapping_size;
        File::from(memfd.try_clone().unwrap()).set_len(size).unwrap();
        let mapping = Mapping::shared(memfd.as_fd(), size as usize).unwrap();
        // SAFETY: two distinct mappings of `size` bytes each.
        unsafe { ptr::copy_nonoverlapping(ring.mapping.base().as_ptr(), mapping.base().as_ptr(), size as usize) };
        (mapping, memfd)
    }

    #[test]
    fn a_mapping_whose_geometry_is_not_the_replys_or_is_impossible_is_refused() {
        let ring = Ring::create_private(8, 256, 0).unwrap();
        let good = ring.geometry();
        let check = |(mapping, memfd): (Mapping, OwnedFd), reply| Ring::check(mapping, memfd, reply);
        assert!(check(remapped(&ring), Some(good)).is_ok());
        for reply in [Geometry { slot_count: 16, ..good }, Geometry { slot_size: 128, ..good }, Geometry { mapping_size: good.mapping_size + 4096, ..good }] {
            assert!(check(remapped(&ring), Some(reply)).is_err(), "{reply:?}");
        }
        let corrupt = |edit: &dyn Fn(&RingHeader)| {
            let (mapping, memfd) = remapped(&ring);
            // SAFETY: the mapping holds a header; atomics only.
            edit(unsafe { mapping.base().cast::<RingHeader>().as_ref() });
            Ring::check(mapping, memfd, None)
        };
        assert!(corrupt(&|h| h.version.store(2, Ordering::Relaxed)).is_err());
        assert!(corrupt(&|h| h.magic.store(1, Ordering::Relaxed)).is_err());
        assert!(corrupt(&|h| h.slot_count.store(6, Ordering::Relaxed)).is_err(), "not a power of two");
        assert!(corrupt(&|h| h.slot_count.store(1 << 20, Ordering::Relaxed)).is_err(), "larger than the mapping");
        assert!(corrupt(&|h| h.slot_size.store(100, Ordering::Relaxed)).is_err());
        assert!(corrupt(&|h| h.snap_length.store(250, Ordering::Relaxed)).is_err(), "snap beyond a slot");
    }
}
