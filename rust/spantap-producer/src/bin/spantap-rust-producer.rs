//! spantap-rust-producer: Examples/c-producer/spantap_producer.c in Rust, on the crate's
//! `Session`: an external forwarder's stand-in feeding spantapd. Same flags, same per-second
//! lines, same exit codes (1 bad arguments, 2 no spantapd answered, 3 spantapd refused).
//!
//! spantap-rust-producer [-s SOCKET] [-n NAME] [-i IFNAME] [-r PPS] [-d SECONDS] [-b BATCH]
//!                       [-c COUNT] [-l LENGTH] [-v VLAN] [-w SECONDS] [-a SECONDS]
//!   -i  frames claim to arrive on IFNAME (default: the interface of spantapd's first rule)
//!   -r  offer PPS frames per second, paced per batch (default: as fast as possible)
//!   -d  run for SECONDS (default: until COUNT frames are offered; -c default 100)
//!   -b  frames per batch, i.e. per publish (default 32)
//!   -l  frame length (60..9000, default 128); the sequence number is in the payload
//!   -v  tag every frame with 802.1Q VLAN id VLAN (a unit); repeat -v to cycle through several
//!   -w  stay attached SECONDS after the last frame
//!   -a  wait at most SECONDS for the first attach before offering frames (default 5)
//! Each second: "offered=N mirrored=N detached=N attached=0|1 attaches=N generation=G" (counts
//! for that second); at the end the ring's totals.

use std::io::Write;
use std::process::ExitCode;
use std::thread::sleep;
use std::time::Duration;

use spantap_producer::{AttachError, Direction, Offer, RuleCache, Session, monotonic_ns};

const SECOND: u64 = 1_000_000_000;

/// C's atol: the leading decimal integer, 0 if there is none.
fn atol(text: &str) -> i64 {
    let text = text.trim_start();
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    let digits: String = digits.chars().take_while(char::is_ascii_digit).collect();
    sign * digits.parse::<i64>().unwrap_or(0)
}

struct Options {
    path: String,
    name: String,
    ifname: Option<String>,
    count: i64,
    length: i64,
    wait_seconds: i64,
    pps: i64,
    seconds: i64,
    batch: i64,
    attach_seconds: i64,
    vlans: Vec<u16>,
}

/// getopt("s:n:i:r:d:b:c:l:v:w:a:"): "-x VALUE" or "-xVALUE".
fn parse(arguments: &[String]) -> Result<Options, String> {
    let mut o = Options {
        path: "/run/spantap/spantapd.sock".into(),
        name: "rust-producer".into(),
        ifname: None,
        count: 100,
        length: 128,
        wait_seconds: 0,
        pps: 0,
        seconds: 0,
        batch: 32,
        attach_seconds: 5,
        vlans: Vec::new(),
    };
    let mut rest = arguments.iter();
    while let Some(argument) = rest.next() {
        let Some(flag) = argument.strip_prefix('-').and_then(|f| f.chars().next()) else {
            return Err(format!("unexpected argument {argument}"));
        };
        if !"snirdbclvwa".contains(flag) {
            return Err(format!("unknown option -{flag}"));
        }
        let value = match &argument[2..] {
            "" => rest.next().ok_or(format!("option -{flag} needs a value"))?.clone(),
            attached => attached.to_string(),
        };
        match flag {
            's' => o.path = value,
            'n' => o.name = value,
            'i' => o.ifname = Some(value),
            'r' => o.pps = atol(&value),
            'd' => o.seconds = atol(&value),
            'b' => o.batch = atol(&value),
            'c' => o.count = atol(&value),
            'l' => o.length = atol(&value),
            'v' => {
                let vlan = atol(&value);
                if o.vlans.len() == 16 || !(1..=4094).contains(&vlan) {
                    return Err("at most 16 -v, each 1..4094".into());
                }
                o.vlans.push(vlan as u16);
            }
            'w' => o.wait_seconds = atol(&value),
            _ => o.attach_seconds = atol(&value),
        }
    }
    if !(60..=9000).contains(&o.length) || !(1..=4096).contains(&o.batch) {
        return Err("length must be 60..9000 and batch 1..4096".into());
    }
    Ok(o)
}

/// The interface frames claim to arrive on: -i's name, looked up now, or the first rule's.
fn receiving_ifindex(ifname: Option<&str>, rules: &RuleCache) -> u32 {
    match ifname {
        Some(name) => std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex"))
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0),
        None => rules.rules().first().map_or(0, |rule| rule.ifindex),
    }
}

/// Test frames: locally administered MACs, optionally an 802.1Q tag, EtherType 0x88b5 (local
/// experimental), then the sequence number. Returns the frame and the sequence number's offset.
fn build_frame(vlan: Option<u16>) -> (Vec<u8>, usize) {
    let mut frame = vec![0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01];
    if let Some(vlan) = vlan {
        frame.extend([0x81, 0x00]);
        frame.extend((vlan & 0x0fff).to_be_bytes());
    }
    frame.extend([0x88, 0xb5]);
    let at = frame.len();
    frame.resize(9000, 0);
    (frame, at)
}

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let o = match parse(&arguments) {
        Ok(options) => options,
        Err(why) => {
            eprintln!("{why}");
            return ExitCode::from(1);
        }
    };
    let log = Box::new(|line: &str| eprintln!("spantap-rust-producer: {line}"));
    let mut session = match Session::start_with_log(&o.path, &o.name, Some(log)) {
        Ok(session) => session,
        Err(error) => {
            eprintln!("cannot start a session: {error}");
            return ExitCode::from(1);
        }
    };
    // A forwarder would start forwarding at once; this stand-in waits for its first ring so a
    // fixed -c COUNT is not offered into the void.
    let give_up = monotonic_ns() + o.attach_seconds.max(0) as u64 * SECOND;
    while !session.begin_batch(monotonic_ns()) {
        if monotonic_ns() >= give_up {
            let error = session.last_error();
            eprintln!("no ring after {} s: {}", o.attach_seconds, error.as_ref().map_or("no attach finished".into(), ToString::to_string));
            return ExitCode::from(if matches!(error, Some(AttachError::Refused(_))) { 3 } else { 2 });
        }
        sleep(Duration::from_millis(5));
    }

    let tags: Vec<Option<u16>> = if o.vlans.is_empty() { vec![None] } else { o.vlans.iter().copied().map(Some).collect() };
    let mut frames: Vec<(Vec<u8>, usize)> = tags.into_iter().map(build_frame).collect();
    let mut ifindex = receiving_ifindex(o.ifname.as_deref(), session.rules());
    let mut seen_generation = session.rules().generation();
    let start = monotonic_ns();
    let deadline = start + o.seconds.max(0) as u64 * SECOND;
    let mut next_report = start + SECOND;
    let batch_interval = if o.pps > 0 { o.batch as u64 * SECOND / o.pps as u64 } else { 0 };
    let mut next_batch = start;
    let (mut seq, mut offered, mut mirrored): (i64, i64, i64) = (0, 0, 0);
    let mut detached_before = 0;
    let mut stdout = std::io::stdout();
    while if o.seconds > 0 { monotonic_ns() < deadline } else { seq < o.count } {
        let now = monotonic_ns();
        if now >= next_report {
            let counters = session.counters();
            let _ = writeln!(
                stdout,
                "offered={offered} mirrored={mirrored} detached={} attached={} attaches={} generation={}",
                counters.drops_detached - detached_before,
                counters.attached as u8,
                counters.attaches,
                counters.generation
            );
            let _ = stdout.flush();
            (offered, mirrored) = (0, 0);
            detached_before = counters.drops_detached;
            next_report += SECOND;
        }
        if batch_interval != 0 {
            if now < next_batch {
                sleep(Duration::from_nanos((next_batch - now).min(1_000_000)));
                continue;
            }
            next_batch += batch_interval;
        }
        session.begin_batch(now);
        if session.rules().generation() != seen_generation {
            seen_generation = session.rules().generation();
            ifindex = receiving_ifindex(o.ifname.as_deref(), session.rules());
        }
        let mut i = 0;
        while i < o.batch && (o.seconds > 0 || seq < o.count) {
            let unit = (seq % frames.len() as i64) as usize;
            let (frame, at) = &mut frames[unit];
            frame[*at..*at + 8].copy_from_slice(&seq.to_ne_bytes());
            if session.offer(ifindex, Direction::Received, &frame[..o.length as usize]) == Offer::Mirrored {
                mirrored += 1;
            }
            (i, seq, offered) = (i + 1, seq + 1, offered + 1);
        }
        session.publish();
    }
    let counters = session.counters();
    let _ = writeln!(
        stdout,
        "mirrored_packets={} mirror_drops_queue_full={} mirror_drops_no_frame={} drops_detached={}",
        counters.ring.mirrored_packets, counters.ring.drops_queue_full, counters.ring.drops_no_frame, counters.drops_detached
    );
    let _ = stdout.flush();
    sleep(Duration::from_secs(o.wait_seconds.max(0) as u64));
    drop(session); // detach: spantapd drains and frees the ring
    ExitCode::SUCCESS
}
