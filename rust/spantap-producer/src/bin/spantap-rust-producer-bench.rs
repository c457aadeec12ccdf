//! spantap-rust-producer-bench: Benchmarks/c_producer_bench.c with this crate, so the two run
//! side by side on the same frames. A ring in a private memfd (4096 slots of 2048 bytes, one
//! rule: ifindex 7, received, rate 1) is fed FRAMES frames of SIZE bytes in batches of BATCH:
//!   enqueue   Producer::enqueue per frame (stage + publish per frame)
//!   batched   Producer::stage per frame, Producer::publish once per batch
//!   forwarder batched, plus RuleCache::refresh and tick per batch, find and sample per frame
//!   filtered  forwarder, the rule filtered by `not ip` (tcpdump -ddd: 4 instructions, accepts
//!             every frame here): the per-frame cost of running a rule's filter
//! A consumer is emulated by moving consumer_index up to producer_index after every batch.
//!
//! Run: spantap-rust-producer-bench MODE SIZE BATCH FRAMES -> mode=.. size=.. batch=.. ns_per_frame=..

use std::hint::black_box;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use spantap_producer::filter::{Insn, code};
use spantap_producer::{Direction, Producer, Refresh, Ring, Rule, RuleCache, Sample, monotonic_ns};

/// `tcpdump -ddd -y EN10MB 'not ip'`.
const NOT_IP: [Insn; 4] = [
    Insn::new(code::LD_H_ABS, 0, 0, 12),
    Insn::new(code::JEQ_K, 0, 1, 0x0800),
    Insn::new(code::RET_K, 0, 0, 0),
    Insn::new(code::RET_K, 0, 0, 262144),
];

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().collect();
    if arguments.len() != 5 {
        eprintln!("usage: spantap-rust-producer-bench enqueue|batched|forwarder|filtered SIZE BATCH FRAMES");
        return ExitCode::from(1);
    }
    let mode = arguments[1].as_str();
    let (size, batch, frames): (u32, u32, i64) =
        match (arguments[2].parse(), arguments[3].parse(), arguments[4].parse()) {
            (Ok(size), Ok(batch), Ok(frames)) if size <= 2048 && batch > 0 => (size, batch, frames),
            _ => {
                eprintln!("SIZE (<= 2048), BATCH (> 0) and FRAMES are numbers");
                return ExitCode::from(1);
            }
        };
    let ring = match Ring::create_private(4096, 2048, 0) {
        Ok(ring) => ring,
        Err(error) => {
            eprintln!("memfd: {error}");
            return ExitCode::from(2);
        }
    };
    let filtered = mode == "filtered";
    let rule = Rule { ifindex: 7, direction: Direction::Received as u16, filter: filtered as u16, output_id: 0, rate: 1, ..Rule::default() };
    ring.write_table(&[rule], 0, &[&NOT_IP]);
    let mut producer = Producer::new(&ring, -1);
    let mut cache = RuleCache::new();
    if cache.refresh(&ring) != Refresh::Changed || cache.rules().len() != 1 {
        eprintln!("ring setup failed");
        return ExitCode::from(2);
    }
    let frame = [0xa5u8; 2048];
    let frame = &frame[..size as usize];
    let (forwarder, enqueue) = (mode == "forwarder" || filtered, mode == "enqueue");
    let start = monotonic_ns();
    let mut done = 0;
    while done < frames {
        if forwarder {
            black_box(cache.refresh(&ring));
            cache.tick(0);
        }
        for _ in 0..batch {
            if enqueue {
                producer.enqueue(cache.rule(0), black_box(frame), 0);
            } else if forwarder {
                if let Some(r) = cache.find(7, Direction::Received) {
                    // forwarder mode stays C's forwarder loop (no filter call), so row 7 compares like with like.
                    if (!filtered || cache.filter(r, black_box(frame)).is_some()) && cache.sample(r) == Sample::Mirror {
                        producer.stage(cache.rule(r), black_box(frame), 0);
                    }
                }
            } else {
                producer.stage(cache.rule(0), black_box(frame), 0);
            }
        }
        producer.publish();
        ring.header().consumer_index.store(producer.producer_index(), Ordering::Release);
        done += batch as i64;
    }
    let elapsed = (monotonic_ns() - start) as f64;
    let mirrored = producer.counters().mirrored_packets;
    if mirrored != frames as u64 {
        eprintln!("mirrored {mirrored} of {frames}");
        return ExitCode::from(3);
    }
    println!("mode={mode} size={size} batch={batch} frames={frames} ns_per_frame={:.2}", elapsed / frames as f64);
    ExitCode::SUCCESS
}
