//! Nothing on the per-frame path allocates: a counting global allocator (per thread, so other
//! test threads do not disturb the count) sees 0 allocations across thousands of batches of
//! refresh + tick + find (by unit) + filter + sample + limit + stage + publish, after warm-up, both on a
//! bare producer and through a `Session` attached to a stand-in spantapd (tests/common).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

mod common;

use spantap_producer::filter::{Insn, code};
use spantap_producer::{Direction, Offer, Producer, Ring, Rule, RuleCache, Sample, Session, Staged, monotonic_ns};

/// `tcpdump -ddd -y EN10MB 'ether[15] == 100'`: the low byte of a VLAN 100 tag.
const VLAN_100: [Insn; 4] = [
    Insn::new(code::LD_B_ABS, 0, 0, 15),
    Insn::new(code::JEQ_K, 0, 1, 100),
    Insn::new(code::RET_K, 0, 0, 262144),
    Insn::new(code::RET_K, 0, 0, 0),
];

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        // SAFETY: the caller's contract for `alloc` is passed on as it is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc` is passed on as it is.
        unsafe { System.dealloc(pointer, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn the_forwarding_path_allocates_nothing_per_frame() {
    let ring = Ring::create_private(1024, 2048, 0).unwrap();
    let unit = |vlan_id, output_id| Rule { ifindex: 7, direction: 0, output_id, rate: 3, generation: 2, vlan_id, run_length: 1, ..Rule::default() };
    let limited = Rule { ifindex: 9, rate: 1, filter: 1, max_packets_per_second: 50_000, generation: 2, ..Rule::default() };
    ring.write_table(&[unit(100, 1), unit(200, 2), limited], 0, &[&VLAN_100]);
    let mut cache = RuleCache::new();
    let mut producer = Producer::new(&ring, -1);
    let mut frames = [[0u8; 300]; 2];
    for (frame, vlan) in frames.iter_mut().zip([100u16, 200]) {
        frame[12..14].copy_from_slice(&0x8100u16.to_be_bytes());
        frame[14..16].copy_from_slice(&vlan.to_be_bytes());
    }
    let mut run = |batches: u64, now: &mut u64| -> (u64, u64, u64) {
        let (mut mirrored, mut limited, mut filtered) = (0, 0, 0);
        for _ in 0..batches {
            *now += 20_000;
            cache.refresh(&ring);
            cache.tick(*now);
            for i in 0..64 {
                let (ifindex, frame) = (if i % 3 == 0 { 9 } else { 7 }, &frames[i % 2]);
                let Some(r) = cache.select(ifindex, Direction::Received, frame) else { continue };
                let Some(r) = cache.filter(r, frame) else {
                    producer.count_filtered();
                    filtered += 1;
                    continue;
                };
                match cache.sample(r) {
                    Sample::Mirror => mirrored += (producer.stage(cache.rule(r), frame, *now) == Staged::Enqueued) as u64,
                    Sample::OverLimit => {
                        producer.count_rate_limited();
                        limited += 1
                    }
                    Sample::Skip => {}
                }
            }
            producer.publish();
            ring.header().consumer_index.store(producer.producer_index(), std::sync::atomic::Ordering::Release);
        }
        (mirrored, limited, filtered)
    };
    let mut now = 1_000_000_000;
    run(100, &mut now); // warm-up
    let before = allocations();
    let (mirrored, limited, filtered) = run(10_000, &mut now);
    assert_eq!(allocations() - before, 0, "allocations in 640 000 offered frames");
    assert!(mirrored > 100_000 && limited > 0 && filtered > 0, "the loop did mirror, limit and filter: {mirrored} mirrored, {limited} over limit, {filtered} filtered");
}

#[test]
fn a_sessions_batches_and_offers_allocate_nothing() {
    let rules = vec![Rule { ifindex: 7, rate: 2, run_length: 1, generation: 2, max_packets_per_second: 1_000_000, ..Rule::default() }];
    let daemon = common::FakeDaemon::start(common::Answer::Ring { slot_count: 1024 }, rules.clone());
    let mut session = Session::start(&daemon.path, "rs-alloc").unwrap();
    assert!(common::wait_until(5.0, || session.begin_batch(monotonic_ns())));
    let ring = daemon.attach(0, 1.0).unwrap();
    // Port 8's frames go through a filter that rejects them (byte 15 is 0x5a).
    ring.ring.write_table(&[rules[0], Rule { ifindex: 8, filter: 1, ..rules[0] }], 0, &[&VLAN_100]);
    let frame = [0x5au8; 200];
    let mut run = |batches: usize| -> u64 {
        let mut mirrored = 0;
        for _ in 0..batches {
            session.begin_batch(monotonic_ns());
            for _ in 0..64 {
                mirrored += (session.offer(7, Direction::Received, &frame) == Offer::Mirrored) as u64;
                assert_eq!(session.offer(8, Direction::Received, &frame), Offer::Filtered);
            }
            session.publish();
            let published = ring.ring.header().producer_index.load(std::sync::atomic::Ordering::Acquire);
            ring.ring.header().consumer_index.store(published, std::sync::atomic::Ordering::Release);
        }
        mirrored
    };
    run(100);
    let before = allocations();
    let mirrored = run(5_000);
    assert_eq!(allocations() - before, 0, "allocations on the forwarding thread in 640 000 offers");
    assert!(mirrored > 100_000, "{mirrored} mirrored");
}

#[test]
fn the_counter_sees_an_allocation_on_this_thread() {
    let before = allocations();
    drop(std::hint::black_box(vec![1u8; 16]));
    assert_eq!(allocations() - before, 1);
}
