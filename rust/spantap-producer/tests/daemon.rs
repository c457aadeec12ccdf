//! The crate against the release spantapd: real TAPs, veths and a real daemon, judged by tcpdump.
//!
//! spantapd comes from SPANTAP_BIN_DIR (scripts/test.sh sets it to the release build), else
//! ../../.build/release. These tests need root (TAPs, veths): when not root they skip with a
//! message, unless SPANTAP_REQUIRE_PRIVILEGED is set, which makes them fail instead. Every device
//! is uniquely named and removed (with the daemon and its directory) by `Lab`'s Drop, also when
//! a test fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::sleep;
use std::time::{Duration, Instant};

use spantap_producer::{Direction, Offer, Session, monotonic_ns};

/// One daemon scenario at a time: the machine has few cores, and timing claims need them.
static SERIAL: Mutex<()> = Mutex::new(());

/// Whether privileged tests may run here; panics if they must and cannot.
fn privileged() -> Option<MutexGuard<'static, ()>> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status.lines().find(|l| l.starts_with("Uid:")).and_then(|l| l.split_whitespace().nth(2)) == Some("0");
    if !root {
        assert!(
            std::env::var_os("SPANTAP_REQUIRE_PRIVILEGED").is_none(),
            "SPANTAP_REQUIRE_PRIVILEGED is set but these tests are not running as root"
        );
        eprintln!("skipped: needs root for TAP devices and veths (set SPANTAP_REQUIRE_PRIVILEGED=1 to make this a failure)");
        return None;
    }
    Some(SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
}

fn bin_dir() -> PathBuf {
    let dir = std::env::var_os("SPANTAP_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.build/release"));
    assert!(dir.join("spantapd").exists(), "no spantapd in {} (swift build -c release, or set SPANTAP_BIN_DIR)", dir.display());
    dir
}

/// A name no other test or host device has: at most 14 characters, so a veth peer can add "p".
fn unique_name(tag: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let salt = (std::process::id() as u64) << 20 ^ monotonic_ns() ^ NEXT.fetch_add(1, Ordering::Relaxed) << 40;
    let mut hash = salt.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut suffix = String::new();
    for _ in 0..6 {
        suffix.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[(hash % 36) as usize] as char);
        hash /= 36;
    }
    format!("rs{}{suffix}", &tag[..tag.len().min(5)])
}

fn run(program: &str, arguments: &[&str]) -> String {
    let output = Command::new(program).args(arguments).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(output.status.success(), "{program} {arguments:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn wait_until(seconds: f64, mut condition: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < seconds {
        if condition() {
            return true;
        }
        sleep(Duration::from_millis(10));
    }
    condition()
}

fn ifindex(name: &str) -> u32 {
    std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex")).ok().and_then(|t| t.trim().parse().ok()).unwrap_or(0)
}

/// A release spantapd with its own config, control socket and log in a temporary directory.
struct Lab {
    directory: PathBuf,
    config: PathBuf,
    socket: PathBuf,
    daemon: Option<Child>,
    /// Devices to remove at the end (TAPs spantapd made, veths the test made).
    interfaces: Vec<String>,
}

fn instance(name: &str, rate: u32, ingress: &[&str], output: &str) -> String {
    let prefix = format!("set forwarding-options port-mirroring instance {name}");
    ingress.iter().map(|i| format!("{prefix} input ingress interface {i}\n")).collect::<String>()
        + &format!("{prefix} input rate {rate}\n{prefix} output interface {output}\n")
}

impl Lab {
    fn new(config: &str) -> Lab {
        let directory = std::env::temp_dir().join(unique_name("lab"));
        std::fs::create_dir_all(&directory).unwrap();
        let lab = Lab { config: directory.join("spantap.conf"), socket: directory.join("spantapd.sock"), directory, daemon: None, interfaces: Vec::new() };
        lab.write_config(config);
        lab
    }

    /// An interface to mirror: one end of a new veth pair.
    fn make_ingress(&mut self) -> String {
        let name = unique_name("in");
        run("ip", &["link", "add", &name, "type", "veth", "peer", "name", &format!("{name}p")]);
        self.interfaces.push(name.clone());
        name
    }

    fn write_config(&self, text: &str) {
        std::fs::write(&self.config, text).unwrap();
    }

    /// Starts spantapd and waits (at most 10 s) until its control socket answers.
    fn start(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.directory.join("spantapd.log")).unwrap();
        let daemon = Command::new(bin_dir().join("spantapd"))
            .arg("--config").arg(&self.config)
            .arg("--control-socket").arg(&self.socket)
            .args(["--ring-slots", "1024"])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spantapd");
        self.daemon = Some(daemon);
        let ready = wait_until(10.0, || self.control(r#"{"command":"status"}"#).is_some_and(|r| r.contains("\"ok\":true")));
        assert!(ready, "spantapd did not answer: {}", self.log());
    }

    /// SIGKILL: a crash, nothing retired.
    fn kill(&mut self) {
        if let Some(mut daemon) = self.daemon.take() {
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
    }

    fn control(&self, request: &str) -> Option<String> {
        use std::io::{BufRead, BufReader, Write};
        let mut stream = std::os::unix::net::UnixStream::connect(&self.socket).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        stream.write_all(format!("{request}\n").as_bytes()).ok()?;
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).ok()?;
        Some(line)
    }

    fn status(&self) -> String {
        self.control(r#"{"command":"status"}"#).unwrap_or_default()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.directory.join("spantapd.log")).unwrap_or_default()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.kill();
        for name in &self.interfaces {
            let _ = Command::new("ip").args(["link", "del", name]).stderr(Stdio::null()).status();
        }
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

/// tcpdump writing a pcap file, read back once stopped (libpcap puts VLAN tags back). A 64 MiB
/// buffer (-B): with the default, tcpdump drops most of a burst the sink writes at once.
struct Capture {
    tcpdump: Child,
    file: PathBuf,
}

impl Capture {
    fn start(lab: &Lab, interface: &str) -> Capture {
        let file = lab.directory.join(format!("{interface}.pcap"));
        let log = lab.directory.join(format!("{interface}.tcpdump.log"));
        let tcpdump = Command::new("tcpdump")
            .args(["--immediate-mode", "-B", "65536", "-U", "-n", "-Q", "in", "-i", interface, "-w"])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("tcpdump");
        let listening = wait_until(5.0, || std::fs::read_to_string(&log).unwrap_or_default().contains("listening on"));
        assert!(listening, "tcpdump on {interface}: {}", std::fs::read_to_string(&log).unwrap_or_default());
        Capture { tcpdump, file }
    }

    /// The frames written so far (tcpdump -U writes each as it comes), with their pcap timestamps.
    fn frames_so_far(&self) -> Vec<(f64, Vec<u8>)> {
        let bytes = std::fs::read(&self.file).unwrap_or_default();
        if bytes.len() < 24 {
            return Vec::new();
        }
        let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let scale = if word(0) == 0xa1b2_3c4d { 1e-9 } else { 1e-6 };
        let (mut frames, mut at) = (Vec::new(), 24);
        while at + 16 <= bytes.len() {
            let length = word(at + 8) as usize;
            if at + 16 + length > bytes.len() {
                break;
            }
            frames.push((word(at) as f64 + word(at + 4) as f64 * scale, bytes[at + 16..at + 16 + length].to_vec()));
            at += 16 + length;
        }
        frames
    }

    fn stop(mut self) -> Vec<Vec<u8>> {
        sleep(Duration::from_millis(300)); // frames still on their way through the sink
        let _ = Command::new("kill").args(["-INT", &self.tcpdump.id().to_string()]).status();
        let _ = self.tcpdump.wait();
        self.frames_so_far().into_iter().map(|(_, frame)| frame).collect()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.tcpdump.kill();
        let _ = self.tcpdump.wait();
    }
}

/// Frames of these tests' producers: EtherType 0x88b5 after the MACs or after one 802.1Q tag.
fn producer_frames(frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
    frames.iter().filter(|f| (f.len() > 14 && f[12..14] == [0x88, 0xb5]) || (f.len() > 18 && f[12..14] == [0x81, 0] && f[16..18] == [0x88, 0xb5])).cloned().collect()
}

/// The sequence numbers (8 bytes after EtherType 0x88b5) of the frames, in order.
fn sequence(frames: &[Vec<u8>]) -> Vec<i64> {
    producer_frames(frames).iter().map(|f| {
        let at = if f[12..14] == [0x81, 0] { 18 } else { 14 };
        i64::from_ne_bytes(f[at..at + 8].try_into().unwrap())
    }).collect()
}

/// A test frame: MACs, EtherType 0x88b5, sequence number, then `length` bytes in all a pattern of
/// its own, so a changed byte anywhere shows.
fn frame(seq: i64, length: usize) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x88, 0xb5];
    f.extend(seq.to_ne_bytes());
    f.extend((f.len()..length).map(|i| (i as i64 * 31 + seq * 7) as u8));
    f
}

/// A session's first attach (the session is detached until the helper has a ring).
fn attached(session: &mut Session) -> bool {
    wait_until(5.0, || session.begin_batch(monotonic_ns()))
}

fn started_with_tap(rate: u32) -> (Lab, String, String) {
    let mut lab = Lab::new("");
    let ingress = lab.make_ingress();
    let tap = unique_name("out");
    lab.interfaces.push(tap.clone());
    lab.write_config(&instance("span1", rate, &[&ingress], &tap));
    lab.start();
    (lab, ingress, tap)
}

#[test]
fn frames_from_the_session_reach_the_tap_byte_identical() {
    let Some(_serial) = privileged() else { return };
    let (lab, ingress, tap) = started_with_tap(1);
    let mut session = Session::start(&lab.socket, "rs-bytes").unwrap();
    assert!(attached(&mut session), "attached: {:?}", session.last_error());
    let capture = Capture::start(&lab, &tap);
    let sent: Vec<Vec<u8>> = (0..60).map(|i| frame(i, 60 + (i as usize * 97) % 1440)).collect();
    for batch in sent.chunks(8) {
        session.begin_batch(monotonic_ns());
        for f in batch {
            assert_eq!(session.offer(ifindex(&ingress), Direction::Received, f), Offer::Mirrored);
        }
        session.publish();
    }
    assert_eq!(session.offer(ifindex(&ingress), Direction::Transmitted, &sent[0]), Offer::Skipped, "no egress rule");
    let received = producer_frames(&capture.stop());
    assert_eq!(received.len(), sent.len(), "every frame arrived");
    for (i, (got, want)) in received.iter().zip(&sent).enumerate() {
        assert!(got == want, "frame {i} differs: {} bytes captured, {} sent", got.len(), want.len());
    }
    assert_eq!(session.counters().ring.mirrored_packets, 60);
}

#[test]
fn the_example_producer_attaches_feeds_the_tap_and_detaches() {
    let Some(_serial) = privileged() else { return };
    let (lab, _ingress, tap) = started_with_tap(1);
    let capture = Capture::start(&lab, &tap);
    let producer = env!("CARGO_BIN_EXE_spantap-rust-producer");
    let output = Command::new(producer).args(["-s", lab.socket.to_str().unwrap(), "-n", "rs-example", "-c", "200", "-l", "300"]).output().unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{printed} {}", String::from_utf8_lossy(&output.stderr));
    assert!(printed.contains("mirrored_packets=200 mirror_drops_queue_full=0 mirror_drops_no_frame=0 drops_detached=0"), "{printed}");
    let frames = capture.stop();
    assert_eq!(sequence(&frames), (0..200).collect::<Vec<_>>());
    assert!(producer_frames(&frames).iter().all(|f| f.len() == 300));
    assert!(wait_until(5.0, || lab.status().contains("\"producers\":[]")), "detached: {}", lab.status());
}

/// The example exits 2 when no spantapd answers and 3 when spantapd refuses (here: a name that
/// is already attached).
#[test]
fn the_example_producer_exits_2_without_spantapd_and_3_when_refused() {
    let producer = env!("CARGO_BIN_EXE_spantap-rust-producer");
    let status = Command::new(producer).args(["-s", "/nonexistent/spantapd.sock", "-a", "1"]).stderr(Stdio::null()).status().unwrap();
    assert_eq!(status.code(), Some(2));
    let status = Command::new(producer).args(["-l", "10"]).stderr(Stdio::null()).status().unwrap();
    assert_eq!(status.code(), Some(1), "a length below 60");
    let Some(_serial) = privileged() else { return };
    let (lab, _ingress, _tap) = started_with_tap(1);
    let mut first = Session::start(&lab.socket, "rs-twice").unwrap();
    assert!(attached(&mut first));
    let second = Command::new(producer).args(["-s", lab.socket.to_str().unwrap(), "-n", "rs-twice", "-a", "2"]).output().unwrap();
    assert_eq!(second.status.code(), Some(3), "{}", String::from_utf8_lossy(&second.stderr));
}

/// The reload's reply comes after spantapd rewrote the table, so the very next batch must follow
/// the new rules: its first frame is on the new output (a changed rule's count restarts), every
/// 4th after it, and nothing of it on the old output.
#[test]
fn a_reload_changing_rate_and_output_is_seen_within_one_batch() {
    let Some(_serial) = privileged() else { return };
    let mut lab = Lab::new("");
    let (x, y) = (lab.make_ingress(), lab.make_ingress());
    let (tap_a, tap_b) = (unique_name("oa"), unique_name("ob"));
    lab.interfaces.extend([tap_a.clone(), tap_b.clone()]);
    lab.write_config(&(instance("a", 1, &[&x], &tap_a) + &instance("b", 1, &[&y], &tap_b)));
    lab.start();
    let mut session = Session::start(&lab.socket, "rs-reload").unwrap();
    assert!(attached(&mut session));
    let (capture_a, capture_b) = (Capture::start(&lab, &tap_a), Capture::start(&lab, &tap_b));
    let mut seq = 0;
    let batch = |session: &mut Session, seq: &mut i64| {
        session.begin_batch(monotonic_ns());
        for _ in 0..32 {
            session.offer(ifindex(&x), Direction::Received, &frame(*seq, 100));
            *seq += 1;
        }
        session.publish();
    };
    for _ in 0..4 {
        batch(&mut session, &mut seq);
    }
    let before = session.counters().generation;
    lab.write_config(&(instance("a", 1, &[&y], &tap_a) + &instance("b", 4, &[&x], &tap_b)));
    let reply = lab.control(r#"{"command":"reload"}"#).unwrap_or_default();
    assert!(reply.contains("\"ok\":true"), "{reply}");
    let first_after = seq;
    for _ in 0..4 {
        batch(&mut session, &mut seq);
    }
    assert_ne!(session.counters().generation, before, "the table was rewritten");
    let (on_a, on_b) = (sequence(&capture_a.stop()), sequence(&capture_b.stop()));
    assert_eq!(on_a, (0..first_after).collect::<Vec<_>>(), "A got every frame before the reload and none after");
    assert_eq!(on_b, (first_after..seq).step_by(4).collect::<Vec<_>>(), "B got every 4th frame from the first batch after");
}

#[test]
fn two_vlan_units_of_one_port_reach_their_two_outputs() {
    let Some(_serial) = privileged() else { return };
    let mut lab = Lab::new("");
    let port = lab.make_ingress();
    let (tap_a, tap_b) = (unique_name("ua"), unique_name("ub"));
    lab.interfaces.extend([tap_a.clone(), tap_b.clone()]);
    lab.write_config(&(instance("a", 1, &[&format!("{port}.100")], &tap_a) + &instance("b", 1, &[&format!("{port}.200")], &tap_b)));
    lab.start();
    let (capture_a, capture_b) = (Capture::start(&lab, &tap_a), Capture::start(&lab, &tap_b));
    let producer = env!("CARGO_BIN_EXE_spantap-rust-producer");
    let output = Command::new(producer)
        .args(["-s", lab.socket.to_str().unwrap(), "-n", "rs-units", "-i", &port, "-v", "100", "-v", "200", "-c", "40", "-b", "8"])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains("mirrored_packets=40 "), "{printed} {}", String::from_utf8_lossy(&output.stderr));
    let vlan = |f: &Vec<u8>| if f[12..14] == [0x81, 0] { u16::from_be_bytes([f[14], f[15]]) & 0x0fff } else { 0 };
    let (frames_a, frames_b) = (producer_frames(&capture_a.stop()), producer_frames(&capture_b.stop()));
    assert_eq!(sequence(&frames_a), (0..40).step_by(2).collect::<Vec<_>>());
    assert_eq!(sequence(&frames_b), (1..40).step_by(2).collect::<Vec<_>>());
    assert!(frames_a.iter().all(|f| vlan(f) == 100) && frames_b.iter().all(|f| vlan(f) == 200));
    let status = lab.status();
    let not_granted: Vec<&str> = status.split("\"mirror_drops_not_granted\":").skip(1).map(|rest| rest.split([',', '}']).next().unwrap()).collect();
    assert!(!not_granted.is_empty() && not_granted.iter().all(|n| *n == "0"), "no record refused as not granted: {status}");
}

/// spantapd SIGKILLed (nothing retired: the helper sees the hang-up) and started again: the
/// session, fed by its own forwarding thread at 1000 frames/s, attaches again by itself and its
/// frames are on the new spantapd's TAP within 2 s of readiness; the forwarding thread is never
/// held up meanwhile.
#[test]
fn the_session_reattaches_after_spantapd_is_killed_and_restarted() {
    let Some(_serial) = privileged() else { return };
    let (mut lab, ingress, tap) = started_with_tap(1);
    let stop = Arc::new(AtomicBool::new(false));
    let mirrored = Arc::new(AtomicU64::new(0));
    let forwarding = {
        let (stop, mirrored, socket, ingress) = (Arc::clone(&stop), Arc::clone(&mirrored), lab.socket.clone(), ifindex(&ingress));
        let mut session = Session::start(&socket, "rs-survivor").unwrap();
        // The session moves into its forwarding thread (it is Send), as a worker's would.
        std::thread::spawn(move || {
            let (mut seq, mut slowest) = (0, 0u64);
            while !stop.load(Ordering::Relaxed) {
                let start = monotonic_ns();
                session.begin_batch(start);
                for _ in 0..10 {
                    if session.offer(ingress, Direction::Received, &frame(seq, 100)) == Offer::Mirrored {
                        mirrored.fetch_add(1, Ordering::Relaxed);
                    }
                    seq += 1;
                }
                session.publish();
                slowest = slowest.max(monotonic_ns() - start);
                sleep(Duration::from_millis(10));
            }
            (session.counters(), slowest)
        })
    };
    assert!(wait_until(5.0, || lab.status().contains("\"reattaches\":0")), "first attach: {}", lab.status());
    // The forwarding thread has taken the ring and seen the rules (else it has nothing to count
    // as detached: a ring handed over and lost before it was taken leaves no rules behind).
    assert!(wait_until(5.0, || mirrored.load(Ordering::Relaxed) > 0), "frames mirrored before the kill");
    lab.kill();
    sleep(Duration::from_millis(500)); // the producer runs on, detached
    lab.start();
    let ready = Instant::now();
    let ready_wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    let capture = Capture::start(&lab, &tap);
    let mut first: Option<f64> = None;
    wait_until(3.0, || {
        first = capture.frames_so_far().iter().find(|(_, f)| !producer_frames(std::slice::from_ref(f)).is_empty()).map(|(t, _)| *t);
        first.is_some()
    });
    let back = first.map(|t| t - ready_wall);
    assert!(back.is_some_and(|s| s < 2.0), "frames on the TAP {back:?} s after readiness ({:?} since)", ready.elapsed());
    assert!(lab.status().contains("\"reattaches\":1"), "one re-attach: {}", lab.status());
    stop.store(true, Ordering::Relaxed);
    let (counters, slowest) = forwarding.join().unwrap();
    assert!(counters.attached && counters.attaches == 2, "{counters:?}");
    assert!(counters.drops_detached > 0, "clones selected while detached were counted: {counters:?}");
    assert!(slowest < 100_000_000, "a batch took {} ms: the forwarding thread waited on something", slowest / 1_000_000);
}

/// An instance with `input filter`: spantapd compiles it into the ring's program table, the
/// session runs it before sampling, and the TAP gets only what it accepts. The expression picks
/// frames by the low byte of their sequence number (byte 14): the even ones, then, after a reload
/// to rate 2, every 2nd of the accepted ones (the 1-in-N count sees accepted frames only).
#[test]
fn an_instance_filter_reaches_the_session_and_the_tap_gets_only_what_it_accepts() {
    let Some(_serial) = privileged() else { return };
    let mut lab = Lab::new("");
    let ingress = lab.make_ingress();
    let tap = unique_name("of");
    lab.interfaces.push(tap.clone());
    let config = |rate| instance("span1", rate, &[&ingress], &tap) + "set forwarding-options port-mirroring instance span1 input filter \"ether[14] & 1 == 0\"\n";
    lab.write_config(&config(1));
    lab.start();
    let mut session = Session::start(&lab.socket, "rs-filter").unwrap();
    assert!(attached(&mut session), "attached: {:?}", session.last_error());
    let capture = Capture::start(&lab, &tap);
    let offer_batch = |session: &mut Session, seqs: std::ops::Range<i64>| -> Vec<Offer> {
        session.begin_batch(monotonic_ns());
        let offers = seqs.map(|seq| session.offer(ifindex(&ingress), Direction::Received, &frame(seq, 100))).collect();
        session.publish();
        offers
    };
    let offers = offer_batch(&mut session, 0..40);
    let expected: Vec<Offer> = (0..40).map(|seq| if seq % 2 == 0 { Offer::Mirrored } else { Offer::Filtered }).collect();
    assert_eq!(offers, expected);
    lab.write_config(&config(2));
    let reply = lab.control(r#"{"command":"reload"}"#).unwrap_or_default();
    assert!(reply.contains("\"ok\":true"), "{reply}");
    let offers = offer_batch(&mut session, 40..80);
    assert_eq!(offers.iter().filter(|o| **o == Offer::Mirrored).count(), 10, "rate 2 over the 20 accepted: {offers:?}");
    assert_eq!(offers.iter().filter(|o| **o == Offer::Filtered).count(), 20);
    let counters = session.counters();
    assert_eq!((counters.ring.filter_rejected, counters.rules_disabled), (40, 0), "{counters:?}");
    let received = sequence(&capture.stop());
    let mut wanted: Vec<i64> = (0..40).step_by(2).collect();
    wanted.extend((40..80).step_by(4));
    assert_eq!(received, wanted, "the even frames, then every 2nd even one");
    assert!(wait_until(5.0, || lab.status().contains("\"filter_rejected\":40")), "status counts the producer's rejections: {}", lab.status());
}
