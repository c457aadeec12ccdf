//! A stand-in spantapd for tests that need no root: it listens on a Unix socket, answers each
//! attach request with a ring it made itself (Ring::create_private) and its descriptors
//! (SCM_RIGHTS), and lets the test play spantapd's part on the ring: write rules, retire it,
//! hang up. It can also answer wrongly (a geometry that is not the ring's, the wrong number of
//! descriptors, a refusal), as a broken or hostile spantapd would.
#![allow(dead_code)]

pub mod cc;

use std::ffi::{c_int, c_void};
use std::io::{BufRead, BufReader};
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use spantap_producer::{Ring, Rule};

#[repr(C)]
struct IoVec {
    base: *const c_void,
    len: usize,
}

#[repr(C)]
struct MsgHdr {
    name: *mut c_void,
    name_len: u32,
    iov: *const IoVec,
    iov_len: usize,
    control: *mut c_void,
    control_len: usize,
    flags: c_int,
}

unsafe extern "C" {
    fn sendmsg(fd: c_int, message: *const MsgHdr, flags: c_int) -> isize;
}

/// Sends `bytes` with `fds` attached (SCM_RIGHTS).
fn send_with_fds(socket: &UnixStream, bytes: &[u8], fds: &[BorrowedFd<'_>]) {
    let mut control = [0u64; 2 + 4];
    let length = 16 + fds.len() * size_of::<c_int>();
    control[0] = length as u64; // cmsg_len
    control[1] = 1 | 1 << 32; // cmsg_level SOL_SOCKET, cmsg_type SCM_RIGHTS
    for (i, fd) in fds.iter().enumerate() {
        let raw = fd.as_raw_fd();
        // SAFETY: at most 8 descriptors fit the 32 bytes after the header; `control` is ours.
        unsafe { control.as_mut_ptr().cast::<u8>().add(16 + i * 4).cast::<c_int>().write_unaligned(raw) };
    }
    let iov = IoVec { base: bytes.as_ptr().cast(), len: bytes.len() };
    let message = MsgHdr {
        name: std::ptr::null_mut(),
        name_len: 0,
        iov: &iov,
        iov_len: 1,
        control: if fds.is_empty() { std::ptr::null_mut() } else { control.as_mut_ptr().cast() },
        control_len: if fds.is_empty() { 0 } else { (length + 7) & !7 },
        flags: 0,
    };
    // SAFETY: `message` describes live buffers (`iov` over `bytes`, `control`).
    let sent = unsafe { sendmsg(socket.as_raw_fd(), &message, 0) };
    assert_eq!(sent, bytes.len() as isize, "sendmsg: {}", std::io::Error::last_os_error());
}

/// How the stand-in answers an attach.
#[derive(Clone, Copy, Debug)]
pub enum Answer {
    /// A ring of this many slots of 256 bytes, as spantapd would.
    Ring { slot_count: u32 },
    /// A ring whose reply claims another slot_count than the ring has.
    WrongSlotCount,
    /// The ring's memfd only, or memfd, eventfd and one descriptor too many.
    Descriptors(usize),
    /// {"ok":false,"error":"..."}
    Refuse,
}

/// What one attach got: the ring, the connection (drop it to hang up) and the request line.
pub struct Attached {
    pub ring: Arc<Ring>,
    pub connection: Mutex<Option<UnixStream>>,
    pub request: String,
    /// The "eventfd": the other end reads the producer's wake-ups.
    pub wakeups: UnixStream,
}

pub struct FakeDaemon {
    pub path: PathBuf,
    pub attached: Arc<Mutex<Vec<Arc<Attached>>>>,
    pub answer: Arc<Mutex<Answer>>,
    /// Rules written into every new ring before it is handed out.
    pub rules: Arc<Mutex<Vec<Rule>>>,
    /// Attach requests answered, good or bad.
    pub attempts: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeDaemon {
    pub fn start(answer: Answer, rules: Vec<Rule>) -> FakeDaemon {
        let directory = std::env::temp_dir().join(format!("spantap-fake-{}-{}", std::process::id(), spantap_producer::monotonic_ns()));
        std::fs::create_dir_all(&directory).unwrap();
        let path = directory.join("spantapd.sock");
        let listener = UnixListener::bind(&path).unwrap();
        listener.set_nonblocking(true).unwrap();
        let (attached, answer, rules, stop) =
            (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(answer)), Arc::new(Mutex::new(rules)), Arc::new(AtomicBool::new(false)));
        let attempts = Arc::new(AtomicUsize::new(0));
        let thread = {
            let (attached, answer, rules, stop, attempts) = (attached.clone(), answer.clone(), rules.clone(), stop.clone(), attempts.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((connection, _)) => {
                            let answer = *answer.lock().unwrap();
                            let served = serve(connection, answer, &rules.lock().unwrap());
                            attempts.fetch_add(1, Ordering::Relaxed);
                            if let Some(one) = served {
                                attached.lock().unwrap().push(Arc::new(one));
                            }
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        FakeDaemon { path, attached, answer, rules, attempts, stop, thread: Some(thread) }
    }

    /// The n-th attach (from 0), waiting up to `seconds` for it.
    pub fn attach(&self, n: usize, seconds: f64) -> Option<Arc<Attached>> {
        let start = Instant::now();
        while start.elapsed().as_secs_f64() < seconds {
            if let Some(one) = self.attached.lock().unwrap().get(n) {
                return Some(one.clone());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }

    pub fn attaches(&self) -> usize {
        self.attached.lock().unwrap().len()
    }
}

impl Drop for FakeDaemon {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_dir_all(self.path.parent().unwrap());
    }
}

fn serve(connection: UnixStream, answer: Answer, rules: &[Rule]) -> Option<Attached> {
    connection.set_nonblocking(false).unwrap();
    let mut request = String::new();
    BufReader::new(connection.try_clone().unwrap()).read_line(&mut request).ok()?;
    if let Answer::Refuse = answer {
        send_with_fds(&connection, b"{\"ok\":false,\"error\":\"attach-producer x: refused by the test\"}\n", &[]);
        return None;
    }
    let slot_count = if let Answer::Ring { slot_count } = answer { slot_count } else { 64 };
    let ring = Arc::new(Ring::create_private(slot_count, 256, 0).unwrap());
    ring.write_rules(rules, 0);
    let claimed = if let Answer::WrongSlotCount = answer { slot_count * 2 } else { slot_count };
    let reply = format!(
        "{{\"ok\":true,\"producer\":{{\"name\":\"x\",\"slot_count\":{claimed},\"slot_size\":256,\"snap_length\":0,\"mapping_size\":{},\"rules\":[]}}}}\n",
        ring.geometry().mapping_size
    );
    let (wakeup, wakeups) = UnixStream::pair().unwrap();
    let mut fds = vec![ring.memfd(), std::os::fd::AsFd::as_fd(&wakeup)];
    match answer {
        Answer::Descriptors(1) => fds.truncate(1),
        Answer::Descriptors(_) => fds.push(ring.memfd()),
        _ => {}
    }
    send_with_fds(&connection, reply.as_bytes(), &fds);
    if !matches!(answer, Answer::Ring { .. }) {
        return None; // a bad answer: the stand-in keeps nothing of it
    }
    wakeups.set_nonblocking(true).unwrap();
    Some(Attached { ring, connection: Mutex::new(Some(connection)), request: request.trim_end().to_string(), wakeups })
}

/// Descriptors this process holds now.
pub fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Mappings of rings in this process (memfds named spantap-private-ring).
pub fn ring_mappings() -> usize {
    std::fs::read_to_string("/proc/self/maps").unwrap().lines().filter(|l| l.contains("spantap-private-ring")).count()
}

pub fn wait_until(seconds: f64, mut condition: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < seconds {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    condition()
}
