//! The producer's private copy of its mirror rules (struct spantap_rule_cache): refreshed once
//! per batch from the ring's table under the seqlock (D), with retirement (E), together with the
//! filter programs the rules reference (copied, then validated: a rule whose program is missing
//! or invalid is left out and counted in rules_disabled); rule lookup by interface, direction
//! and VLAN unit; the per-rule filter; the 1-in-N down-counter with run-length; the
//! max-packets-per-second token buckets. The per-frame calls allocate nothing, never divide by a
//! value that can be zero and never enter the kernel.

use std::sync::atomic::{Ordering, fence};

use crate::abi::{self, ProgramTable, Rule};
use crate::filter::{self, Insn, Program};
use crate::ring::Ring;

/// Which way a frame crossed the interface a rule names.
#[repr(u16)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Received on the interface (ingress mirroring).
    Received = direction(abi::RECEIVED),
    /// Transmitted by the interface (egress mirroring).
    Transmitted = direction(abi::TRANSMITTED),
}

/// A direction as a rule holds it (16 bits since ABI 4), failing the build if it does not fit.
const fn direction(value: u32) -> u16 {
    assert!(value <= u16::MAX as u32, "a rule's direction is 16 bits");
    value as u16
}

/// What `RuleCache::refresh` found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refresh {
    /// The rules did not change (the common case: one load-acquire).
    Same,
    /// The cache holds the new rules; counts restarted for rules that changed only.
    Changed,
    /// spantapd was mid-update (or the copy was torn): the old rules stay; look again next batch.
    Busy,
    /// spantapd retired the ring: stop staging into it and attach again.
    Retired,
}

/// What `RuleCache::sample` says of one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sample {
    Skip,
    Mirror,
    /// Selected, but over the rule's max_packets_per_second.
    OverLimit,
}

/// One program slot per program of the table, each of the longest program's size.
type Programs = Box<[[Insn; filter::MAX_INSNS]; abi::PROGRAM_CAPACITY]>;

fn programs() -> Programs {
    // Built on the heap (128 KiB): a `Box::new` of the array would pass through the stack.
    vec![[Insn::default(); filter::MAX_INSNS]; abi::PROGRAM_CAPACITY]
        .into_boxed_slice()
        .try_into()
        .unwrap_or_else(|_| unreachable!("PROGRAM_CAPACITY programs were made"))
}

/// The rules this producer follows, and its sampling and rate state per rule.
pub struct RuleCache {
    /// Table generation this copy was taken at; 0: none yet.
    generation: u64,
    count: usize,
    flags: u32,
    /// Rules with a max_packets_per_second.
    limited: u32,
    /// When `tick` last refilled the buckets.
    ticked_ns: u64,
    rules: [Rule; abi::RULE_CAPACITY],
    /// Per rule: frames of the current run still to mirror after a sampled one (high 32 bits),
    /// frames still to skip before the next sampled one (low 32 bits, a down-counter).
    state: [u64; abi::RULE_CAPACITY],
    /// Per rule: the max_packets_per_second bucket, abi::TOKEN per clone.
    tokens: [u64; abi::RULE_CAPACITY],
    /// Rules of the table left out of this copy: their program is missing or invalid.
    disabled: u32,
    /// The validated programs the rules reference, by the rules' filter - 1, and their lengths
    /// (0: no program there). A rule in this copy only ever references a program that passed
    /// `filter::validate`.
    program_lengths: [u32; abi::PROGRAM_CAPACITY],
    programs: Programs,
    /// Where refresh copies programs before it knows the copy is not torn.
    staging: Programs,
}

/// The table's order: (ifindex, direction, vlan_id).
fn before(a: &Rule, b: &Rule) -> bool {
    (a.ifindex, a.direction, a.vlan_id) < (b.ifindex, b.direction, b.vlan_id)
}

/// The outer VLAN id of an Ethernet frame (802.1Q or 802.1ad tag), or 0 if it is untagged.
#[inline]
pub fn frame_vlan(frame: &[u8]) -> u16 {
    if frame.len() < 16 {
        return 0;
    }
    let kind = u16::from_be_bytes([frame[12], frame[13]]);
    if kind == 0x8100 || kind == 0x88a8 { u16::from_be_bytes([frame[14], frame[15]]) & 0x0fff } else { 0 }
}

impl Default for RuleCache {
    fn default() -> Self {
        RuleCache {
            generation: 0,
            count: 0,
            flags: 0,
            limited: 0,
            ticked_ns: 0,
            rules: [Rule::default(); abi::RULE_CAPACITY],
            state: [0; abi::RULE_CAPACITY],
            tokens: [0; abi::RULE_CAPACITY],
            disabled: 0,
            program_lengths: [0; abi::PROGRAM_CAPACITY],
            programs: programs(),
            staging: programs(),
        }
    }
}

impl RuleCache {
    /// An empty cache on the heap (about 12 KiB, and two 128 KiB program stores of its own).
    pub fn new() -> Box<RuleCache> {
        Box::default()
    }

    /// Once per batch: the reader's side of the seqlock (D), and retirement (E). The common case
    /// (nothing changed) is one load-acquire of the generation. When it changed, copies the rules
    /// and the programs they reference, validates each program, leaves out any rule whose
    /// program is missing or invalid and stores how many in the ring's rules_disabled.
    pub fn refresh(&mut self, ring: &Ring) -> Refresh {
        let generation = ring.rule_table().generation.load(Ordering::Acquire); // (D) (E)
        if generation == self.generation {
            return Refresh::Same;
        }
        self.refresh_changed(ring, generation)
    }

    /// Copies program `program` of the table into the staging area (relaxed loads: spantapd may
    /// be writing it; the caller finds out by loading the generation again). Returns its length,
    /// or 0 if the reference is beyond program_count or the length cannot be a program.
    fn stage_program(&mut self, table: &ProgramTable, program_count: u32, program: usize) -> u32 {
        if program >= program_count as usize {
            return 0;
        }
        let (Some(length), Some(from), Some(to)) =
            (table.lengths.get(program), table.programs.get(program), self.staging.get_mut(program))
        else {
            return 0;
        };
        let length = length.load(Ordering::Relaxed);
        if length == 0 || length as usize > filter::MAX_INSNS {
            return 0;
        }
        for (to, from) in to[..length as usize].iter_mut().zip(from) {
            *to = Insn::from_words(from.words.each_ref().map(|word| word.load(Ordering::Relaxed)));
        }
        length
    }

    #[cold]
    #[inline(never)]
    fn refresh_changed(&mut self, ring: &Ring, generation: u64) -> Refresh {
        let table = ring.rule_table();
        if generation == abi::RULES_RETIRED {
            return Refresh::Retired;
        }
        if generation & 1 != 0 {
            return Refresh::Busy;
        }
        let count = table.rule_count.load(Ordering::Relaxed) as usize;
        let flags = table.flags.load(Ordering::Relaxed);
        if count > abi::RULE_CAPACITY {
            return Refresh::Busy;
        }
        let mut fresh = [Rule::default(); abi::RULE_CAPACITY];
        for (to, from) in fresh[..count].iter_mut().zip(&table.rules) {
            *to = Rule::from_words(from.words.each_ref().map(|word| word.load(Ordering::Relaxed)));
        }
        // Each referenced program once: staged[p] is its length + 1 once copied (1: unusable).
        let programs = ring.program_table();
        let program_count = programs.program_count.load(Ordering::Relaxed);
        let mut staged = [0u32; abi::PROGRAM_CAPACITY];
        for rule in &fresh[..count] {
            let Some(program) = usize::from(rule.filter).checked_sub(1) else { continue };
            if staged.get(program) == Some(&0) {
                staged[program] = self.stage_program(programs, program_count, program) + 1;
            }
        }
        fence(Ordering::Acquire); // (D)
        if table.generation.load(Ordering::Relaxed) != generation {
            return Refresh::Busy;
        }
        // The copy is whole. Validate what it holds; leave out rules that cannot run their filter.
        for (staged, program) in staged.iter_mut().zip(self.staging.iter()) {
            if *staged > 1 && filter::validate(&program[..*staged as usize - 1]).is_err() {
                *staged = 1;
            }
        }
        let runnable = |rule: &Rule| {
            rule.filter == 0 || staged.get(usize::from(rule.filter) - 1).is_some_and(|staged| *staged > 1)
        };
        let mut kept = 0;
        for i in 0..count {
            if runnable(&fresh[i]) {
                fresh[kept] = fresh[i];
                kept += 1;
            }
        }
        // Both lists are sorted: walk them together to carry the counts of unchanged rules over.
        let mut state = [0u64; abi::RULE_CAPACITY];
        let mut tokens = [0u64; abi::RULE_CAPACITY];
        let mut limited = 0;
        let mut j = 0;
        for (i, rule) in fresh[..kept].iter().enumerate() {
            while j < self.count && before(&self.rules[j], rule) {
                j += 1;
            }
            let same = j < self.count && !before(rule, &self.rules[j]) && self.rules[j].generation == rule.generation;
            state[i] = if same { self.state[j] } else { 0 };
            // A new limit starts empty and fills at its rate.
            tokens[i] = if same { self.tokens[j] } else { 0 };
            limited += (rule.max_packets_per_second != 0) as u32;
        }
        // Every program a kept rule references is in the staging area: it becomes the store (the
        // old store becomes the next staging area). Slots no rule references get length 0.
        std::mem::swap(&mut self.programs, &mut self.staging);
        for (length, staged) in self.program_lengths.iter_mut().zip(staged) {
            *length = staged.saturating_sub(1);
        }
        self.rules[..kept].copy_from_slice(&fresh[..kept]);
        self.state[..kept].copy_from_slice(&state[..kept]);
        self.tokens[..kept].copy_from_slice(&tokens[..kept]);
        self.limited = limited;
        self.disabled = (count - kept) as u32;
        self.count = kept;
        self.flags = flags;
        self.generation = generation;
        ring.header().rules_disabled.store(self.disabled as u64, Ordering::Relaxed);
        Refresh::Changed
    }

    /// Forgets every rule, so the next refresh copies the table whole and every count restarts
    /// (a new ring's generations mean nothing to the old copy).
    pub fn forget(&mut self) {
        self.generation = 0;
        self.count = 0;
        self.limited = 0;
        self.disabled = 0;
    }

    /// The rule for a frame crossing `ifindex` in `direction`: the port's rule, or, for a port
    /// mirrored by VLAN unit, the rule of the frame's outer VLAN id. None: not mirrored.
    #[inline]
    pub fn select(&self, ifindex: u32, direction: Direction, frame: &[u8]) -> Option<usize> {
        let first = self.find(ifindex, direction)?;
        if self.rules[first].vlan_id == 0 { Some(first) } else { self.find_unit(first, frame_vlan(frame)) }
    }

    /// The first rule for `ifindex` and `direction` (a binary search: rules are sorted).
    #[inline]
    pub fn find(&self, ifindex: u32, direction: Direction) -> Option<usize> {
        let key = (ifindex, direction as u16);
        let rules = &self.rules[..self.count];
        let low = rules.partition_point(|r| (r.ifindex, r.direction) < key);
        (low < rules.len() && (rules[low].ifindex, rules[low].direction) == key).then_some(low)
    }

    /// Starting at `first` (from `find`), the unit rule for `vlan_id`, if that unit is mirrored.
    #[inline]
    pub fn find_unit(&self, first: usize, vlan_id: u16) -> Option<usize> {
        let port = &self.rules[first];
        self.rules[first..self.count]
            .iter()
            .take_while(|r| r.ifindex == port.ifindex && r.direction == port.direction)
            .position(|r| r.vlan_id == vlan_id)
            .map(|offset| first + offset)
    }

    /// The rule that takes one whole frame (as it crossed the interface), starting at rule `i`
    /// (from `select`): `i` itself if it has no filter or its program accepts the frame, else the
    /// first further rule of the same (ifindex, direction, vlan_id) whose program does (several
    /// rules share a key only with disjoint filters: one firewall filter's selections for several
    /// instances); None if every one rejected it (count it with `Producer::count_filtered`, do
    /// not sample it). The header's `spantap_rules_select`. An unfiltered rule costs a load and a test.
    #[inline]
    pub fn filter(&self, i: usize, frame: &[u8]) -> Option<usize> {
        if self.rules[i].filter == 0 {
            return Some(i);
        }
        let first = &self.rules[i];
        self.rules[i..self.count]
            .iter()
            .take_while(|r| r.ifindex == first.ifindex && r.direction == first.direction && r.vlan_id == first.vlan_id)
            // A kept rule always has its program; if it had none, rejecting is the safe answer.
            .position(|r| r.filter == 0 || self.program_at(r.filter).is_some_and(|program| program.accepts(frame)))
            .map(|offset| i + offset)
    }

    /// Rule `i`'s validated filter program, if it has a filter.
    pub fn program(&self, i: usize) -> Option<Program<'_>> {
        self.program_at(self.rules[i].filter)
    }

    /// The validated program a rule's `filter` field names (N: program N - 1), if any.
    fn program_at(&self, filter: u16) -> Option<Program<'_>> {
        let slot = usize::from(filter).checked_sub(1)?;
        let length = *self.program_lengths.get(slot)? as usize;
        let program = self.programs.get(slot)?.get(..length).filter(|p| !p.is_empty())?;
        Some(Program::validated(program))
    }

    /// Rules of the table left out of this copy at the last refresh that changed it: their
    /// program is missing or invalid (also in the ring's rules_disabled).
    pub fn disabled(&self) -> u32 {
        self.disabled
    }

    /// Once per batch, with the batch's CLOCK_MONOTONIC time: refills every limited rule's
    /// bucket by the time since the last tick (at most one second's worth; a bucket holds a
    /// tenth of a second's clones, at least one). One compare when no rule has a limit.
    #[inline]
    pub fn tick(&mut self, now_ns: u64) {
        let elapsed = now_ns.wrapping_sub(self.ticked_ns).min(1_000_000_000);
        self.ticked_ns = now_ns;
        if self.limited == 0 {
            return;
        }
        for (rule, tokens) in self.rules[..self.count].iter().zip(&mut self.tokens) {
            let limit = rule.max_packets_per_second as u64;
            if limit == 0 {
                continue;
            }
            // No overflow: elapsed <= 10^9 and limit < 2^32, so elapsed * limit < 2^62.
            let capacity = (limit / 10).max(1) * abi::TOKEN;
            *tokens = (*tokens + elapsed * limit).min(capacity);
        }
    }

    /// Counts one frame under rule `i`: Mirror for rate 0 or 1 every frame, for rate N frames
    /// 0, N, 2N, ... since the rule last changed, plus the run_length frames after each (a run
    /// overlapping the next sample just continues); OverLimit instead when the rule's bucket is
    /// empty; Skip for the others. A skipped frame costs a load, a compare and a store.
    #[inline]
    pub fn sample(&mut self, i: usize) -> Sample {
        let state = self.state[i];
        if state.wrapping_sub(1) < 0xffff_ffff {
            self.state[i] = state - 1;
            return Sample::Skip;
        }
        let (countdown, run) = (state as u32, (state >> 32) as u32);
        let rule = &self.rules[i];
        self.state[i] = if run != 0 {
            // A frame of the run after a sampled one; the countdown counts it too.
            ((run - 1) as u64) << 32 | countdown.saturating_sub(1) as u64
        } else {
            // The countdown ran out: this frame is sampled; a new run and countdown start.
            (rule.run_length as u64) << 32 | rule.rate.saturating_sub(1) as u64
        };
        if rule.max_packets_per_second == 0 {
            return Sample::Mirror;
        }
        if self.tokens[i] < abi::TOKEN {
            return Sample::OverLimit;
        }
        self.tokens[i] -= abi::TOKEN;
        Sample::Mirror
    }

    /// Rule `i` of the current copy.
    #[inline]
    pub fn rule(&self, i: usize) -> &Rule {
        &self.rules[i]
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules[..self.count]
    }

    /// The table generation this copy was taken at (0: none yet).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether the table asks for mirror-once (abi::TABLE_MIRROR_ONCE).
    #[inline]
    pub fn mirror_once(&self) -> bool {
        self.flags & abi::TABLE_MIRROR_ONCE != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::Ring;
    use std::sync::Arc;
    use crate::filter::code;
    use std::sync::atomic::AtomicBool;

    fn rule(ifindex: u32, rate: u32, run_length: u16) -> Rule {
        Rule { ifindex, direction: abi::RECEIVED as u16, output_id: 1, rate, generation: 2, run_length, ..Rule::default() }
    }

    /// A cache holding `rules` as spantapd would write them.
    fn cache_with(ring: &Ring, rules: &[Rule], flags: u32) -> Box<RuleCache> {
        ring.write_rules(rules, flags);
        let mut cache = RuleCache::new();
        assert_eq!(cache.refresh(ring), Refresh::Changed);
        cache
    }

    fn ring() -> Ring {
        Ring::create_private(64, 256, 0).unwrap()
    }

    /// The frames (of `frames`) rule 0 mirrors.
    fn mirrored(cache: &mut RuleCache, frames: usize) -> Vec<usize> {
        (0..frames).filter(|_| cache.sample(0) == Sample::Mirror).collect()
    }

    #[test]
    fn one_in_n_mirrors_frames_zero_n_two_n() {
        let ring = ring();
        assert_eq!(mirrored(&mut cache_with(&ring, &[rule(7, 4, 0)], 0), 13), [0, 4, 8, 12]);
        assert_eq!(mirrored(&mut cache_with(&ring, &[rule(7, 1, 0)], 0), 5), [0, 1, 2, 3, 4]);
        assert_eq!(mirrored(&mut cache_with(&ring, &[rule(7, 0, 0)], 0), 3), [0, 1, 2]);
    }

    #[test]
    fn run_length_mirrors_the_frames_after_each_sample_and_overlapping_runs_continue() {
        let ring = ring();
        assert_eq!(mirrored(&mut cache_with(&ring, &[rule(7, 10, 2)], 0), 23), [0, 1, 2, 10, 11, 12, 20, 21, 22]);
        assert_eq!(mirrored(&mut cache_with(&ring, &[rule(7, 2, 3)], 0), 8), [0, 1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn a_rewrite_restarts_the_count_of_changed_rules_only() {
        let ring = ring();
        let (a, b) = (rule(7, 3, 0), rule(9, 3, 0));
        let mut cache = cache_with(&ring, &[a, b], 0);
        for i in 0..2 {
            assert_eq!(cache.sample(i), Sample::Mirror);
            assert_eq!(cache.sample(i), Sample::Skip);
        }
        ring.write_rules(&[a, Rule { generation: 4, ..b }], 0);
        assert_eq!(cache.refresh(&ring), Refresh::Changed);
        assert_eq!(cache.sample(0), Sample::Skip, "rule a kept its place in the count");
        assert_eq!(cache.sample(0), Sample::Mirror);
        assert_eq!(cache.sample(1), Sample::Mirror, "rule b changed: its count restarted");
        assert_eq!(cache.refresh(&ring), Refresh::Same);
    }

    #[test]
    fn the_limiter_allows_a_tenth_of_a_second_of_clones_and_refills_at_its_rate() {
        let ring = ring();
        let mut cache = cache_with(&ring, &[Rule { max_packets_per_second: 100, ..rule(7, 1, 0) }], 0);
        let second = 1_000_000_000;
        cache.tick(second); // from 0: a full second, capped at the bucket (10 clones)
        let verdicts: Vec<Sample> = (0..15).map(|_| cache.sample(0)).collect();
        assert_eq!(verdicts.iter().filter(|v| **v == Sample::Mirror).count(), 10);
        assert!(verdicts[10..].iter().all(|v| *v == Sample::OverLimit));
        cache.tick(second + 50_000_000); // 50 ms at 100/s: 5 clones
        assert_eq!((0..8).filter(|_| cache.sample(0) == Sample::Mirror).count(), 5);
        cache.tick(second + 50_000_000);
        assert_eq!(cache.sample(0), Sample::OverLimit, "no time passed: nothing refilled");
    }

    #[test]
    fn a_limit_below_ten_per_second_still_holds_one_clone() {
        let ring = ring();
        let mut cache = cache_with(&ring, &[Rule { max_packets_per_second: 3, ..rule(7, 1, 0) }], 0);
        cache.tick(5_000_000_000);
        assert_eq!((0..4).map(|_| cache.sample(0)).collect::<Vec<_>>(), [Sample::Mirror, Sample::OverLimit, Sample::OverLimit, Sample::OverLimit]);
    }

    #[test]
    fn units_select_by_the_outer_vlan_tag_and_whole_ports_ignore_it() {
        fn frame(tag: Option<(u16, u16)>) -> Vec<u8> {
            let mut f = vec![0u8; 12];
            if let Some((kind, vlan)) = tag {
                f.extend(kind.to_be_bytes());
                f.extend(vlan.to_be_bytes());
            }
            f.extend([0x08, 0x00]);
            f.resize(64, 0);
            f
        }
        assert_eq!(frame_vlan(&frame(None)), 0);
        assert_eq!(frame_vlan(&frame(Some((0x8100, 0x2064)))), 100, "priority bits are not the id");
        assert_eq!(frame_vlan(&frame(Some((0x88a8, 200)))), 200);
        assert_eq!(frame_vlan(&frame(Some((0x8100, 5)))[..15]), 0, "too short to carry a tag");

        let ring = ring();
        let unit = |vlan_id, output_id| Rule { vlan_id, output_id, ..rule(7, 1, 0) };
        let whole = Rule { ifindex: 9, ..rule(9, 1, 0) };
        let cache = cache_with(&ring, &[unit(100, 1), unit(200, 2), whole], 0);
        let output = |ifindex, f: &[u8]| cache.select(ifindex, Direction::Received, f).map(|r| cache.rule(r).output_id);
        assert_eq!(output(7, &frame(Some((0x8100, 100)))), Some(1));
        assert_eq!(output(7, &frame(Some((0x8100, 200)))), Some(2));
        assert_eq!(output(7, &frame(Some((0x8100, 300)))), None, "a unit nobody mirrors");
        assert_eq!(output(7, &frame(None)), None, "untagged frames belong to no unit");
        assert_eq!(output(9, &frame(Some((0x8100, 300)))), Some(1), "a whole-port rule takes every frame");
        assert_eq!(cache.select(9, Direction::Transmitted, &frame(None)), None);
        assert_eq!(cache.select(8, Direction::Received, &frame(None)), None);
    }

    /// Two instances selecting one port through one firewall filter: two rules of one key with
    /// disjoint filters. The first whose filter accepts a frame takes it; a frame both reject is
    /// rejected once.
    #[test]
    fn rules_sharing_a_key_are_tried_in_order_until_a_filter_accepts() {
        let ring = ring();
        // `ip proto 1`: ldb [23]; jeq #1; ret #262144; ret #0.
        let icmp = [Insn::new(code::LD_B_ABS, 0, 0, 23), Insn::new(code::JEQ_K, 0, 1, 1),
                    Insn::new(code::RET_K, 0, 0, 262_144), Insn::new(code::RET_K, 0, 0, 0)];
        let rules = [Rule { filter: 1, ..rule(7, 1, 0) }, Rule { filter: 2, output_id: 2, ..rule(7, 1, 0) }];
        ring.write_table(&rules, 0, &[&udp(), &icmp]);
        let mut cache = RuleCache::new();
        assert_eq!(cache.refresh(&ring), Refresh::Changed);
        let first = cache.select(7, Direction::Received, &ipv4(17)).unwrap();
        let output = |frame: &[u8]| cache.filter(first, frame).map(|r| cache.rule(r).output_id);
        assert_eq!(output(&ipv4(17)), Some(1), "UDP: the first rule");
        assert_eq!(output(&ipv4(1)), Some(2), "ICMP: the second rule");
        assert_eq!(output(&ipv4(6)), None, "TCP: neither");
    }

    #[test]
    fn a_retired_table_says_so_and_an_odd_or_oversized_one_is_busy() {
        let ring = ring();
        let mut cache = cache_with(&ring, &[rule(7, 1, 0)], 0);
        let table = ring.rule_table();
        table.generation.store(5, Ordering::Release);
        assert_eq!(cache.refresh(&ring), Refresh::Busy);
        assert_eq!(cache.rules().len(), 1, "the old rules stay");
        table.rule_count.store(abi::RULE_CAPACITY as u32 + 1, Ordering::Relaxed);
        table.generation.store(6, Ordering::Release);
        assert_eq!(cache.refresh(&ring), Refresh::Busy, "more rules than the table holds");
        ring.retire();
        assert_eq!(cache.refresh(&ring), Refresh::Retired);
    }

    /// `tcpdump -ddd -y EN10MB 'udp'`, and a frame it accepts (IPv4, UDP) and one it rejects.
    fn udp() -> Vec<Insn> {
        let lines = "40 0 0 12\n21 0 2 2048\n48 0 0 23\n21 6 7 17\n21 0 6 34525\n48 0 0 20\n21 3 0 17\n21 0 3 44\n48 0 0 54\n21 0 1 17\n6 0 0 262144\n6 0 0 0";
        lines.lines().map(|line| {
            let n: Vec<u32> = line.split(' ').map(|n| n.parse().unwrap()).collect();
            Insn::new(n[0] as u16, n[1] as u8, n[2] as u8, n[3])
        }).collect()
    }

    fn ipv4(protocol: u8) -> Vec<u8> {
        let mut frame = vec![0u8; 60];
        frame[12..14].copy_from_slice(&[0x08, 0x00]);
        frame[14] = 0x45;
        frame[23] = protocol;
        frame
    }

    /// A table with a filtered rule (a valid program), a rule whose program fails validation, a
    /// rule referencing a program beyond program_count, one beyond the table's capacity and one
    /// whose program's length is 0: only the unfiltered and the validly filtered rules are kept,
    /// the three others are counted in the cache and in the ring's rules_disabled.
    #[test]
    fn refresh_keeps_runnable_filters_and_leaves_out_rules_with_missing_or_invalid_programs() {
        let ring = ring();
        let invalid = [Insn::new(code::LD_MEM, 0, 0, 3), Insn::new(code::RET_A, 0, 0, 0)]; // M[3] never stored
        let filtered = |ifindex, filter| Rule { filter, ..rule(ifindex, 1, 0) };
        let rules = [rule(1, 1, 0), filtered(2, 1), filtered(3, 2), filtered(4, 4), filtered(5, abi::PROGRAM_CAPACITY as u16 + 1), filtered(6, 3), filtered(7, 1)];
        ring.write_table(&rules, 0, &[&udp(), &invalid, &[]]);
        let mut cache = RuleCache::new();
        assert_eq!(cache.refresh(&ring), Refresh::Changed);
        let kept: Vec<u32> = cache.rules().iter().map(|r| r.ifindex).collect();
        assert_eq!(kept, [1, 2, 7], "the unfiltered rule and the rules of the valid program");
        assert_eq!(cache.disabled(), 4, "invalid program, beyond program_count, beyond capacity, length 0");
        assert_eq!(ring.header().rules_disabled.load(Ordering::Relaxed), 4);
        let index = |ifindex| cache.select(ifindex, Direction::Received, &[]).unwrap();
        assert_eq!(cache.filter(index(1), &ipv4(6)), Some(index(1)), "no filter: every frame");
        assert!(cache.filter(index(2), &ipv4(17)).is_some() && cache.filter(index(2), &ipv4(6)).is_none(), "udp accepts UDP only");
        assert!(cache.filter(index(7), &ipv4(17)[..20]).is_none(), "a frame too short for the load is rejected");
        assert_eq!(cache.program(index(2)).map(|p| p.instructions().len()), Some(udp().len()));
        assert!(cache.program(index(1)).is_none());
        // A rewrite that fixes the program brings its rule back and clears the count.
        ring.write_table(&rules[..3], 0, &[&udp(), &udp()]);
        assert_eq!(cache.refresh(&ring), Refresh::Changed);
        assert_eq!((cache.rules().len(), cache.disabled()), (3, 0));
        assert_eq!(ring.header().rules_disabled.load(Ordering::Relaxed), 0);
        // A program longer than the longest is refused without reading past the table.
        let long = vec![Insn::new(code::RET_K, 0, 0, 1); filter::MAX_INSNS + 1];
        ring.write_table(&rules[..2], 0, &[&long]);
        assert_eq!(cache.refresh(&ring), Refresh::Changed);
        assert_eq!((cache.rules().len(), cache.disabled()), (1, 1));
    }

    /// A writer thread rewrites the table as fast as it can with rule sets whose every field says
    /// which set it belongs to; every copy the reader accepts must be one whole set.
    #[test]
    fn the_seqlock_never_hands_out_a_torn_copy_under_a_concurrent_writer() {
        let ring = Arc::new(ring());
        let done = Arc::new(AtomicBool::new(false));
        // Odd rules are filtered by the set's program: k % 50 + 1 loads of k, then return A.
        let set = |k: u32| -> Vec<Rule> {
            (0..(k % 200 + 1))
                .map(|i| Rule { ifindex: i + 1, filter: (i % 2) as u16, output_id: k, rate: k, snap_length: k, generation: k, run_length: k as u16, vlan_id: 0, direction: 0, max_packets_per_second: k })
                .collect()
        };
        let program = |k: u32| -> Vec<Insn> {
            let mut program = vec![Insn::new(code::LD_IMM, 0, 0, k); (k % 50 + 1) as usize];
            program.push(Insn::new(code::RET_A, 0, 0, 0));
            program
        };
        let writer = {
            let (ring, done) = (Arc::clone(&ring), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut k = 1;
                while !done.load(Ordering::Relaxed) {
                    let (rules, program) = (set(k), program(k));
                    ring.write_table(&rules, 0, &[&program]);
                    // A pause of varying length between rewrites, so some copies fit between two
                    // and others overlap one.
                    for _ in 0..(k % 16) * 200 {
                        std::hint::spin_loop();
                    }
                    k += 1;
                }
                k - 1
            })
        };
        let mut cache = RuleCache::new();
        let (mut changed, mut busy) = (0, 0);
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_millis(500) || changed < 100 {
            match cache.refresh(&ring) {
                Refresh::Changed => {
                    changed += 1;
                    let k = cache.rules()[0].output_id;
                    assert_eq!(cache.rules(), &set(k)[..], "a copy mixing sets");
                    assert_eq!(cache.disabled(), 0, "a torn program copy was kept or refused");
                    if let Some(copy) = (cache.rules().len() > 1).then(|| cache.program(1)) {
                        assert_eq!(copy.map(|p| p.instructions()), Some(&program(k)[..]), "a program mixing sets");
                    }
                }
                Refresh::Busy => busy += 1,
                _ => {}
            }
        }
        done.store(true, Ordering::Relaxed);
        let last = writer.join().unwrap();
        while cache.refresh(&ring) == Refresh::Busy {}
        assert_eq!(cache.rules(), &set(last)[..], "the last set is the one kept");
        eprintln!("seqlock: {changed} copies taken, {busy} refused as mid-update or torn");
    }
}
