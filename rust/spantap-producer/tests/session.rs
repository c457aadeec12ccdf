//! The session against a stand-in spantapd (tests/common): attach, the handover to the
//! forwarding thread (S), retirement (E), hang-ups, and replies a producer must refuse. No root.

mod common;

use std::io::Read;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{Answer, FakeDaemon, open_descriptors, ring_mappings, wait_until};
use spantap_producer::abi::TABLE_MIRROR_ONCE;
use spantap_producer::filter::{Insn, code};
use spantap_producer::{AttachError, Direction, Offer, Rule, Session, monotonic_ns};

/// One test at a time: some count this process's descriptors and mappings.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn rule(ifindex: u32, direction: Direction, output_id: u32, rate: u32) -> Rule {
    Rule { ifindex, direction: direction as u16, output_id, rate, generation: 2, ..Rule::default() }
}

fn attached(session: &mut Session) -> bool {
    wait_until(5.0, || session.begin_batch(monotonic_ns()))
}

fn batch(session: &mut Session, frames: usize) -> Vec<Offer> {
    session.begin_batch(monotonic_ns());
    let offers = (0..frames).map(|_| session.offer(7, Direction::Received, &[0x5a; 100])).collect();
    session.publish();
    offers
}

#[test]
fn a_session_attaches_with_abi_4_and_follows_rule_rewrites() {
    let _serial = serial();
    let daemon = FakeDaemon::start(Answer::Ring { slot_count: 64 }, vec![rule(7, Direction::Received, 5, 1)]);
    let mut session = Session::start(&daemon.path, "rs-fake").unwrap();
    assert!(attached(&mut session));
    let ring = daemon.attach(0, 1.0).unwrap();
    assert_eq!(ring.request, r#"{"command":"attach-producer","name":"rs-fake","abi":4,"reattaches":0}"#);
    assert_eq!(batch(&mut session, 10), [Offer::Mirrored; 10]);
    assert_eq!(ring.ring.header().producer_index.load(Ordering::Acquire), 10, "one publish made the batch visible");
    ring.ring.write_rules(&[Rule { generation: 4, ..rule(7, Direction::Received, 5, 2) }], 0);
    assert_eq!(batch(&mut session, 4), [Offer::Mirrored, Offer::Skipped, Offer::Mirrored, Offer::Skipped], "the next batch follows rate 2");
    ring.ring.write_rules(&[], 0);
    assert_eq!(batch(&mut session, 2), [Offer::Skipped; 2], "no rule, nothing selected");
    assert_eq!(session.counters().ring.mirrored_packets, 12);
    assert_eq!(session.counters().generation, 6);
}

#[test]
fn a_retired_ring_is_left_at_the_next_batch_and_the_session_attaches_again() {
    let _serial = serial();
    let daemon = FakeDaemon::start(Answer::Ring { slot_count: 64 }, vec![rule(7, Direction::Received, 5, 1)]);
    let mut session = Session::start(&daemon.path, "rs-retire").unwrap();
    assert!(attached(&mut session));
    let first = daemon.attach(0, 1.0).unwrap();
    assert_eq!(batch(&mut session, 3), [Offer::Mirrored; 3]);
    let before = ring_mappings();
    first.ring.retire();
    assert!(!session.begin_batch(monotonic_ns()), "retirement is seen at the very next batch");
    assert_eq!(session.offer(7, Direction::Received, &[0; 64]), Offer::Detached, "selected by the last rules, no ring");
    assert_eq!(session.counters().drops_detached, 1);
    let second = daemon.attach(1, 3.0).expect("the helper attached again");
    assert_eq!(second.request, r#"{"command":"attach-producer","name":"rs-retire","abi":4,"reattaches":1}"#);
    assert!(attached(&mut session));
    assert_eq!(batch(&mut session, 4), [Offer::Mirrored; 4]);
    assert_eq!(second.ring.header().producer_index.load(Ordering::Acquire), 4, "the new ring gets the frames");
    assert_eq!(first.ring.header().producer_index.load(Ordering::Acquire), 3, "the retired ring nothing more");
    assert_eq!(session.counters().attaches, 2);
    // The session let go of the old ring's mapping (the stand-in holds its own of both rings).
    assert!(wait_until(2.0, || ring_mappings() == before + 1), "mappings: {} (before the switch {before}; the stand-in's new ring adds one, the session's switch none)", ring_mappings());
}

#[test]
fn a_hang_up_is_seen_by_the_helper_and_the_session_comes_back_by_itself() {
    let _serial = serial();
    let daemon = FakeDaemon::start(Answer::Ring { slot_count: 64 }, vec![rule(7, Direction::Received, 5, 1)]);
    let mut session = Session::start(&daemon.path, "rs-hangup").unwrap();
    assert!(attached(&mut session));
    let first = daemon.attach(0, 1.0).unwrap();
    let hung_up = Instant::now();
    drop(first.connection.lock().unwrap().take()); // a crash: nothing retired, the socket closes
    let second = daemon.attach(1, 3.0).expect("attached again after the hang-up");
    assert!(hung_up.elapsed() < Duration::from_millis(1000), "back after {:?}", hung_up.elapsed());
    assert!(second.request.ends_with(r#""reattaches":1}"#));
    assert!(attached(&mut session));
    let offers = batch(&mut session, 5);
    assert_eq!(offers, [Offer::Mirrored; 5]);
    assert_eq!(second.ring.header().producer_index.load(Ordering::Acquire), 5);
}

/// The forwarding thread never waits: while no spantapd answers, a batch costs what a batch
/// costs, and offers say Detached or Skipped at once.
#[test]
fn without_spantapd_batches_return_at_once() {
    let _serial = serial();
    let mut session = Session::start("/nonexistent/spantapd.sock", "rs-alone").unwrap();
    let start = Instant::now();
    for _ in 0..1000 {
        assert!(!session.begin_batch(monotonic_ns()));
        assert_eq!(session.offer(7, Direction::Received, &[0; 64]), Offer::Skipped, "no rules seen yet");
        session.publish();
    }
    assert!(start.elapsed() < Duration::from_millis(500), "1000 detached batches took {:?}", start.elapsed());
    assert!(wait_until(2.0, || matches!(session.last_error(), Some(AttachError::Unreachable(_)))), "{:?}", session.last_error());
}

/// Settles the descriptor count between attempts: the helper is sleeping in its backoff.
fn descriptors_after_attempt(daemon: &FakeDaemon, attempt: usize) -> usize {
    assert!(wait_until(5.0, || daemon.attempts.load(Ordering::Relaxed) >= attempt), "attempt {attempt}");
    std::thread::sleep(Duration::from_millis(30));
    open_descriptors()
}

fn refused_without_leaks(answer: Answer, expected: fn(&AttachError) -> bool) {
    let daemon = FakeDaemon::start(answer, vec![rule(7, Direction::Received, 5, 1)]);
    let mut session = Session::start(&daemon.path, "rs-refuse").unwrap();
    let early = descriptors_after_attempt(&daemon, 2);
    let later = descriptors_after_attempt(&daemon, 4);
    assert!(!session.begin_batch(monotonic_ns()), "{answer:?}: never attached");
    let error = session.last_error();
    assert!(error.as_ref().is_some_and(expected), "{answer:?}: {error:?}");
    assert_eq!(early, later, "{answer:?}: descriptors of refused rings are closed");
    assert_eq!(session.counters().attaches, 0);
    assert!(session.counters().attach_failures >= 4);
}

#[test]
fn a_reply_whose_geometry_is_not_the_rings_is_refused() {
    let _serial = serial();
    refused_without_leaks(Answer::WrongSlotCount, |e| matches!(e, AttachError::Invalid(why) if why.contains("not what the reply")));
}

#[test]
fn a_reply_with_too_few_or_too_many_descriptors_is_refused_and_they_are_closed() {
    let _serial = serial();
    refused_without_leaks(Answer::Descriptors(1), |e| matches!(e, AttachError::Invalid(why) if why.contains("1 descriptors")));
    refused_without_leaks(Answer::Descriptors(3), |e| matches!(e, AttachError::Invalid(why) if why.contains("3 descriptors")));
}

#[test]
fn a_refusal_says_why() {
    let _serial = serial();
    refused_without_leaks(Answer::Refuse, |e| matches!(e, AttachError::Refused(why) if why.contains("refused by the test")));
}

#[test]
fn publish_wakes_a_sleeping_sink_through_the_eventfd() {
    let _serial = serial();
    let daemon = FakeDaemon::start(Answer::Ring { slot_count: 64 }, vec![rule(7, Direction::Received, 5, 1)]);
    let mut session = Session::start(&daemon.path, "rs-wake").unwrap();
    assert!(attached(&mut session));
    let ring = daemon.attach(0, 1.0).unwrap();
    let mut sink = ring.wakeups.try_clone().unwrap();
    let mut word = [0u8; 8];
    batch(&mut session, 2);
    assert!(sink.read(&mut word).is_err(), "an awake sink is not woken");
    ring.ring.header().need_wakeup.store(1, Ordering::Relaxed);
    batch(&mut session, 2);
    assert_eq!(sink.read(&mut word).unwrap(), 8);
    assert_eq!(u64::from_ne_bytes(word), 1);
    assert_eq!(ring.ring.header().need_wakeup.load(Ordering::Relaxed), 0);
}

#[test]
fn mirror_once_suppresses_the_egress_copy_for_the_ingress_copys_output() {
    let _serial = serial();
    let same = vec![rule(7, Direction::Received, 5, 1), rule(9, Direction::Transmitted, 5, 1)];
    let daemon = FakeDaemon::start(Answer::Ring { slot_count: 64 }, same.clone());
    let mut session = Session::start(&daemon.path, "rs-once").unwrap();
    assert!(attached(&mut session));
    let ring = daemon.attach(0, 1.0).unwrap();
    let frame = [0u8; 80];
    assert_eq!(session.offer_forwarded(7, 9, &frame), (Offer::Mirrored, Offer::Mirrored), "without the flag: both copies");
    ring.ring.write_rules(&same, TABLE_MIRROR_ONCE);
    session.begin_batch(monotonic_ns());
    assert_eq!(session.offer_forwarded(7, 9, &frame), (Offer::Mirrored, Offer::Suppressed));
    assert_eq!(session.offer_forwarded(8, 9, &frame), (Offer::Skipped, Offer::Mirrored), "no ingress copy: the egress copy is made");
    ring.ring.write_rules(&[same[0], Rule { output_id: 6, ..same[1] }], TABLE_MIRROR_ONCE);
    session.begin_batch(monotonic_ns());
    assert_eq!(session.offer_forwarded(7, 9, &frame), (Offer::Mirrored, Offer::Mirrored), "another output: both copies");
    session.publish();
    assert_eq!(ring.ring.header().mirror_once_suppressed.load(Ordering::Relaxed), 1);
    assert_eq!(session.counters().ring.mirror_once_suppressed, 1);
}

#[test]
fn rate_limits_and_full_rings_are_reported_per_frame() {
    let _serial = serial();
    let limited = Rule { max_packets_per_second: 10, ..rule(7, Direction::Received, 5, 1) };
    let daemon = FakeDaemon::start(Answer::Ring { slot_count: 4 }, vec![limited]);
    let mut session = Session::start(&daemon.path, "rs-limits").unwrap();
    assert!(attached(&mut session));
    let offers = batch(&mut session, 3);
    assert_eq!(offers, [Offer::Mirrored, Offer::OverLimit, Offer::OverLimit], "a bucket of 10/s holds one clone");
    let daemon_ring = daemon.attach(0, 1.0).unwrap();
    daemon_ring.ring.write_rules(&[rule(7, Direction::Received, 5, 1)], 0);
    let offers = batch(&mut session, 5);
    assert_eq!(offers, [Offer::Mirrored, Offer::Mirrored, Offer::Mirrored, Offer::QueueFull, Offer::QueueFull], "4 slots, 1 used");
    assert_eq!(session.offer(7, Direction::Received, &[0; 300]), Offer::TooLong, "a 256-byte slot holds 224 frame bytes");
    let c = session.counters().ring;
    assert_eq!((c.drops_rate_limited, c.drops_queue_full, c.drops_no_frame), (2, 2, 1));
}

/// `tcpdump -ddd -y EN10MB 'ether[14] & 1 == 0'`: frames whose byte 14 is even.
const EVEN: [Insn; 4] = [
    Insn::new(code::LD_B_ABS, 0, 0, 14),
    Insn::new(code::JSET_K, 0, 1, 1),
    Insn::new(code::RET_K, 0, 0, 0),
    Insn::new(code::RET_K, 0, 0, 262144),
];

/// Find rule -> filter -> sample -> stage: a rejected frame is Filtered, counted in the ring's
/// filter_rejected, takes no slot and does not advance the 1-in-N count (rate 2 over the
/// accepted frames only mirrors accepted frames 0, 2, 4, ...); while detached a filtered frame is
/// not a clone, so not counted as drops_detached. A rule whose program is invalid is left out
/// (it mirrors nothing) and counted in rules_disabled.
#[test]
fn a_filtered_rule_mirrors_only_what_its_program_accepts_before_the_one_in_n_count() {
    let _serial = serial();
    let daemon = FakeDaemon::start(Answer::Ring { slot_count: 64 }, vec![]);
    let mut session = Session::start(&daemon.path, "rs-filter").unwrap();
    assert!(attached(&mut session));
    let ring = daemon.attach(0, 1.0).unwrap();
    let filtered = Rule { filter: 1, ..rule(7, Direction::Received, 5, 2) };
    ring.ring.write_table(&[filtered], 0, &[&EVEN]);
    assert!(session.begin_batch(monotonic_ns()));
    let frame = |n: u8| {
        let mut f = [0u8; 64];
        f[14] = n;
        f
    };
    let offers: Vec<Offer> = (0..8).map(|n| session.offer(7, Direction::Received, &frame(n))).collect();
    use Offer::{Filtered as F, Mirrored as M, Skipped as S};
    assert_eq!(offers, [M, F, S, F, M, F, S, F], "accepted frames 0, 2, 4, 6; rate 2 over those: 0 and 4");
    session.publish();
    let h = ring.ring.header();
    assert_eq!(h.producer_index.load(Ordering::Acquire), 2, "rejected frames took no slot");
    assert_eq!(h.filter_rejected.load(Ordering::Relaxed), 4);
    assert_eq!(session.counters().ring.filter_rejected, 4);
    assert_eq!(session.counters().rules_disabled, 0);

    let invalid = [Insn::new(code::LD_MEM, 0, 0, 0), Insn::new(code::RET_A, 0, 0, 0)];
    ring.ring.write_table(&[filtered, Rule { ifindex: 8, filter: 2, ..filtered }], 0, &[&EVEN, &invalid]);
    assert!(session.begin_batch(monotonic_ns()));
    assert_eq!(session.offer(8, Direction::Received, &frame(0)), Offer::Skipped, "the rule of an invalid program mirrors nothing");
    assert_eq!(session.counters().rules_disabled, 1);
    assert_eq!(h.rules_disabled.load(Ordering::Relaxed), 1);

    ring.ring.retire();
    assert!(!session.begin_batch(monotonic_ns()));
    assert_eq!(session.offer(7, Direction::Received, &frame(1)), Offer::Filtered, "the last rules' filter still applies");
    assert_eq!(session.offer(7, Direction::Received, &frame(0)), Offer::Detached);
    assert_eq!(session.counters().drops_detached, 1, "a filtered frame is not a clone lost");
}
