//! A producer's attachment to spantapd that outlives spantapd (spantap_session.h in Rust).
//!
//! Two threads take part:
//! - the forwarding thread owns the `Session` and calls, per batch, `begin_batch`, then `offer`
//!   per frame, then `publish`. None of them allocates, locks, or enters the kernel, except the
//!   eventfd write of the ring's wake-up protocol (C) when the sink sleeps.
//! - a helper thread, started by `Session::start`, does everything that can block: connect, the
//!   attach request, mmap, and watching the control connection with poll(2). When the connection
//!   hangs up (or the ring is retired) it offers "detached", attaches again with capped backoff
//!   (50 ms doubling to 1 s) and offers the new ring.
//!
//! The handover (S): the helper offers an attachment (or the detached marker) by swapping a
//! pointer into `Shared::offer` (AcqRel); the forwarding thread loads it (Relaxed) once per batch
//! and only when it is not null takes it with a swap to null (Acquire), which pairs with the
//! helper's release, so the new mapping is fully set up before it is used. Attachments are
//! `Arc`s: the helper keeps one reference to every attachment until it frees it, the forwarding
//! thread holds another while it uses one; dropping that (a Release decrement) is how it gives
//! the ring back, and the helper frees an attachment only when `Arc::get_mut` (an Acquire check
//! that it holds the last reference) succeeds, so a ring is never unmapped while in use.
//! Retirement (E) is seen in the generation load the rule refresh makes anyway: a batch with
//! nothing new costs one relaxed load (of a line nobody writes) beyond a bare producer's.

use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::abi;
use crate::attach::{self, AttachError, Attachment};
use crate::ring::{Producer, RingCounters, Staged};
use crate::rules::{Direction, Refresh, RuleCache, Sample};
use crate::sys;

/// What `offer` did with one frame: what the forwarder may count it as (spantap_session.h's
/// enum spantap_offer). `#[non_exhaustive]`: a match keeps an arm for variants to come.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offer {
    /// Staged; visible to spantapd at `publish`.
    Mirrored,
    /// Not selected: no rule for it, or the 1-in-N count said no.
    Skipped,
    /// Its rule's filter program rejected it (the ring counts filter_rejected; not counted
    /// while detached: it was never a clone). It took no slot and no place in the 1-in-N count.
    Filtered,
    /// Selected, over its rule's max-packets-per-second (the ring counts drops_rate_limited).
    OverLimit,
    /// Selected, the ring was full (the ring counts drops_queue_full).
    QueueFull,
    /// Selected, longer than a slot and nothing truncates it (the ring counts drops_no_frame).
    TooLong,
    /// Selected by the last rules seen, but no spantapd is attached now (`drops_detached`).
    Detached,
    /// An egress copy not made: mirror-once, the ingress copy of the same frame already went to
    /// the same output (the ring counts mirror_once_suppressed). Only from `offer_forwarded`.
    Suppressed,
}

/// The session's counts, for the forwarder's own metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// The current ring's counters (all zero while detached): what this producer wrote there.
    pub ring: RingCounters,
    /// Clones selected while no ring was attached.
    pub drops_detached: u64,
    /// Whether a ring is in use now.
    pub attached: bool,
    /// Successful attaches so far.
    pub attaches: u32,
    /// Failed attach attempts so far.
    pub attach_failures: u32,
    /// The rule table generation the producer follows (0: none yet).
    pub generation: u64,
    /// Rules of that table left out because their filter program is missing or invalid.
    pub rules_disabled: u32,
}

/// Where the helper thread's log lines go (called on the helper thread).
pub type LogSink = Box<dyn Fn(&str) + Send + Sync>;

/// The helper's and the forwarding thread's shared state.
struct Shared {
    path: PathBuf,
    name: String,
    /// The handover (S), on a line of its own that only the helper writes.
    offer: Line<AtomicPtr<Attachment>>,
    /// `Session`'s drop: store-release true; helper: load-acquire each time it wakes.
    stopping: AtomicBool,
    /// helper: relaxed store; anyone: relaxed load.
    attaches: AtomicU32,
    attach_failures: AtomicU32,
    /// The last attach failure (helper writes; `last_error` reads; never the forwarding path).
    last_error: Mutex<Option<AttachError>>,
    log: Option<LogSink>,
}

#[repr(align(128))]
struct Line<T>(T);

/// Offered to say "the current ring is dead". Never an `Arc` pointer (those point into the heap).
fn detached_marker() -> *mut Attachment {
    ptr::dangling_mut()
}

/// The ring in use, and the forwarding thread's producer on it.
struct Current {
    /// Declared first, so it is dropped before the attachment it points into.
    producer: Producer<'static>,
    attachment: Arc<Attachment>,
}

/// One producer's session: a forwarding thread's handle on spantapd. `Send` (move it into the
/// worker thread that uses it) but not `Sync`: one session per thread, never shared.
///
/// ```compile_fail
/// fn shared<T: Sync>() {}
/// shared::<spantap_producer::Session>();
/// ```
pub struct Session {
    shared: Arc<Shared>,
    helper: Option<JoinHandle<()>>,
    current: Option<Current>,
    cache: Box<RuleCache>,
    now_ns: u64,
    drops_detached: u64,
}

// SAFETY: the raw pointers inside (`Producer`'s) point into an attachment the session itself keeps
// alive (`Current::attachment`), and every shared word they reach is atomic; nothing in a session
// is tied to the thread that made it, so it may move to another. It is not `Sync`: all of its
// methods that touch the ring take `&mut self`, and `Producer`'s pointers keep it `!Sync`.
unsafe impl Send for Session {}

impl Session {
    /// Starts a session: the helper thread attaches as soon as a spantapd answers on `path`;
    /// until then the session is detached (`begin_batch` returns false). Never waits for
    /// spantapd. `name` (1..64 bytes, no quotes, backslashes or control characters) is how
    /// spantapd's status lists this producer.
    pub fn start(path: impl AsRef<Path>, name: &str) -> std::io::Result<Session> {
        Session::start_with_log(path, name, None)
    }

    /// `start`, with `log` called on the helper thread with one line when an attach fails for a
    /// new reason, succeeds after failing, or spantapd goes away.
    pub fn start_with_log(
        path: impl AsRef<Path>,
        name: &str,
        log: Option<LogSink>,
    ) -> std::io::Result<Session> {
        if !attach::valid_name(name) {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("producer name {name:?}")));
        }
        let shared = Arc::new(Shared {
            path: path.as_ref().to_path_buf(),
            name: name.to_string(),
            offer: Line(AtomicPtr::new(ptr::null_mut())),
            stopping: AtomicBool::new(false),
            attaches: AtomicU32::new(0),
            attach_failures: AtomicU32::new(0),
            last_error: Mutex::new(None),
            log,
        });
        let helper_shared = Arc::clone(&shared);
        // The helper blocks every signal, so the forwarder's signal handling is unchanged.
        let helper = sys::with_signals_blocked(|| {
            thread::Builder::new().name("spantap-session".into()).spawn(move || Helper::new(helper_shared).run())
        })?;
        Ok(Session { shared, helper: Some(helper), current: None, cache: RuleCache::new(), now_ns: 0, drops_detached: 0 })
    }

    /// Once per batch, before its first offer, with the batch's CLOCK_MONOTONIC time (the
    /// records' timestamp, and the clock of the rate limits). Takes a new ring if the helper has
    /// one, refreshes the rules (one load-acquire when they did not change), ticks the limits.
    /// Returns whether a ring is attached.
    #[inline]
    pub fn begin_batch(&mut self, now_ns: u64) -> bool {
        if !self.shared.offer.0.load(Ordering::Relaxed).is_null() {
            // (S)
            self.take();
        }
        self.now_ns = now_ns;
        let Some(current) = &self.current else { return false };
        if self.cache.refresh(&current.attachment.ring) == Refresh::Retired {
            self.leave();
            return false;
        }
        self.cache.tick(now_ns);
        true
    }

    /// Per frame crossing `ifindex` in `direction` (Received after the forward decision,
    /// Transmitted for frames actually sent): find its rule (by VLAN unit when the port is
    /// mirrored by unit), run its filter, sample, stage. `frame` is the whole frame (the filter
    /// sees it all); it is copied, never kept. Never blocks.
    #[inline]
    pub fn offer(&mut self, ifindex: u32, direction: Direction, frame: &[u8]) -> Offer {
        self.offer_unless(ifindex, direction, frame, None).0
    }

    /// A forwarded frame, received on `received_on` and sent by `sent_by`: its ingress copy,
    /// then its egress copy, with mirror-once applied when the table asks for it (an egress copy
    /// for the output the ingress copy went to is `Offer::Suppressed`).
    #[inline]
    pub fn offer_forwarded(&mut self, received_on: u32, sent_by: u32, frame: &[u8]) -> (Offer, Offer) {
        let (ingress, output) = self.offer_unless(received_on, Direction::Received, frame, None);
        let once = if ingress == Offer::Mirrored && self.cache.mirror_once() { output } else { None };
        (ingress, self.offer_unless(sent_by, Direction::Transmitted, frame, once).0)
    }

    /// The per-frame path: find rule -> filter -> sample -> limit -> stage. With `suppress_for`,
    /// a copy for that output is counted as suppressed instead of staged. Also returns the
    /// output the frame was staged for.
    #[inline]
    fn offer_unless(&mut self, ifindex: u32, direction: Direction, frame: &[u8], suppress_for: Option<u32>) -> (Offer, Option<u32>) {
        let Some(r) = self.cache.select(ifindex, direction, frame) else { return (Offer::Skipped, None) };
        // Before the 1-in-N count: a rate counts only the frames the rule's filter accepts.
        let Some(r) = self.cache.filter(r, frame) else {
            if let Some(current) = &mut self.current {
                current.producer.count_filtered();
            }
            return (Offer::Filtered, None);
        };
        let sample = self.cache.sample(r);
        if sample == Sample::Skip {
            return (Offer::Skipped, None);
        }
        let Some(current) = &mut self.current else {
            self.drops_detached += 1;
            return (Offer::Detached, None);
        };
        if sample == Sample::OverLimit {
            current.producer.count_rate_limited();
            return (Offer::OverLimit, None);
        }
        let rule = self.cache.rule(r);
        if suppress_for == Some(rule.output_id) {
            current.producer.count_suppressed();
            return (Offer::Suppressed, None);
        }
        match current.producer.stage(rule, frame, self.now_ns) {
            Staged::Enqueued => (Offer::Mirrored, Some(rule.output_id)),
            Staged::QueueFull => (Offer::QueueFull, None),
            Staged::TooLong => (Offer::TooLong, None),
        }
    }

    /// Once per batch, after its last offer: makes the batch visible (one release store; an
    /// eventfd write only if the sink sleeps). Nothing when nothing was staged.
    #[inline]
    pub fn publish(&mut self) {
        if let Some(current) = &mut self.current {
            current.producer.publish();
        }
    }

    pub fn counters(&self) -> Counters {
        Counters {
            ring: self.current.as_ref().map(|c| c.producer.counters()).unwrap_or_default(),
            drops_detached: self.drops_detached,
            attached: self.current.is_some(),
            attaches: self.shared.attaches.load(Ordering::Relaxed),
            attach_failures: self.shared.attach_failures.load(Ordering::Relaxed),
            generation: self.cache.generation(),
            rules_disabled: self.cache.disabled(),
        }
    }

    /// The rules the session follows now (e.g. to find which interfaces are mirrored at all).
    pub fn rules(&self) -> &RuleCache {
        &self.cache
    }

    /// Why the last attach attempt failed, if one did. Takes a lock: not for the per-frame path.
    pub fn last_error(&self) -> Option<AttachError> {
        self.shared.last_error.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Out of the common path: take what the helper offers (S).
    #[cold]
    #[inline(never)]
    fn take(&mut self) {
        let taken = self.shared.offer.0.swap(ptr::null_mut(), Ordering::Acquire); // (S)
        if taken.is_null() {
            return;
        }
        self.leave();
        if taken == detached_marker() {
            return;
        }
        // SAFETY: every non-null, non-marker pointer in `offer` comes from `Arc::into_raw` in
        // `Helper::hand_over`, and the swap above moved that reference to this thread.
        let attachment = unsafe { Arc::from_raw(taken) };
        let producer = Producer::new(&attachment.ring, std::os::fd::AsRawFd::as_raw_fd(&attachment.eventfd));
        // SAFETY: the producer points into `attachment.ring`, which `Current` keeps alive (the
        // `Arc`) for at least as long as the producer (declared first, dropped first).
        let producer = unsafe { producer.unbound() };
        self.current = Some(Current { producer, attachment });
        self.cache.forget();
    }

    /// Stops using the current ring: dropping its `Arc` gives it back to the helper (S).
    fn leave(&mut self) {
        self.current = None;
    }
}

impl Drop for Session {
    /// Stops the helper, detaches and frees everything. Frames published and not yet drained stay
    /// with spantapd, which drains them when it sees the connection close. Waits for the helper:
    /// up to the attach timeout (2 s) if it is in the middle of an attach to a hung spantapd, so
    /// drop a session after the worker's last batch, not inside it.
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::Release);
        if let Some(helper) = self.helper.take() {
            let _ = helper.join();
        }
        self.leave();
        let untaken = self.shared.offer.0.swap(ptr::null_mut(), Ordering::Acquire);
        if !untaken.is_null() && untaken != detached_marker() {
            // SAFETY: as in `take`: a reference made by `Arc::into_raw`, now ours.
            drop(unsafe { Arc::from_raw(untaken) });
        }
    }
}

/// The helper thread's state: every attachment it has to free, and the one it watches.
struct Helper {
    shared: Arc<Shared>,
    /// Attachments the forwarding thread may still use; freed once it has let go.
    owned: Vec<Arc<Attachment>>,
    /// The attachment whose control connection is watched; None: attaching.
    watched: Option<Arc<Attachment>>,
}

impl Helper {
    fn new(shared: Arc<Shared>) -> Helper {
        Helper { shared, owned: Vec::new(), watched: None }
    }

    fn stopping(&self) -> bool {
        self.shared.stopping.load(Ordering::Acquire)
    }

    fn log(&self, line: &str) {
        if let Some(log) = &self.shared.log {
            log(line);
        }
    }

    fn run(mut self) {
        let mut backoff = abi::SESSION_BACKOFF_FIRST_MS;
        let mut failing = false;
        let mut logged: Option<AttachError> = None;
        while !self.stopping() {
            self.reap();
            if let Some(watched) = &self.watched {
                if alive(watched) {
                    continue;
                }
                self.hand_over(detached_marker());
                // The connection closes when the forwarding thread's reference goes too; until
                // then keep the attachment (and its mapping) on the list to free.
                let _ = watched.connection.shutdown(std::net::Shutdown::Both);
                self.owned.extend(self.watched.take());
                self.log("spantapd went away; attaching again");
                continue;
            }
            let reattaches = self.shared.attaches.load(Ordering::Relaxed);
            match attach::attach(&self.shared.path, &self.shared.name, reattaches, Duration::from_secs(2)) {
                Ok(attachment) => {
                    let attachment = Arc::new(attachment);
                    self.watched = Some(Arc::clone(&attachment));
                    self.shared.attaches.store(reattaches + 1, Ordering::Relaxed);
                    self.hand_over(Arc::into_raw(attachment).cast_mut());
                    if failing {
                        self.log("attached");
                    }
                    failing = false;
                    logged = None;
                    backoff = abi::SESSION_BACKOFF_FIRST_MS;
                }
                Err(error) => {
                    let failures = self.shared.attach_failures.load(Ordering::Relaxed);
                    self.shared.attach_failures.store(failures + 1, Ordering::Relaxed);
                    if logged.as_ref() != Some(&error) {
                        // Each new reason once, not every retry.
                        self.log(&error.to_string());
                        logged = Some(error.clone());
                    }
                    *self.shared.last_error.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(error);
                    failing = true;
                    let mut slept = 0;
                    while slept < backoff && !self.stopping() {
                        thread::sleep(Duration::from_millis(abi::SESSION_BACKOFF_FIRST_MS));
                        slept += abi::SESSION_BACKOFF_FIRST_MS;
                    }
                    backoff = (backoff * 2).min(abi::SESSION_BACKOFF_MAX_MS);
                }
            }
        }
    }

    /// Hands `offered` (an `Arc::into_raw` pointer or the marker) to the forwarding thread (S).
    fn hand_over(&self, offered: *mut Attachment) {
        let untaken = self.shared.offer.0.swap(offered, Ordering::AcqRel); // (S)
        if !untaken.is_null() && untaken != detached_marker() {
            // SAFETY: an offer the forwarding thread never took: the reference `Arc::into_raw`
            // made for it comes back to this thread with the swap.
            drop(unsafe { Arc::from_raw(untaken) });
        }
    }

    /// Frees every attachment the forwarding thread has let go of.
    fn reap(&mut self) {
        // get_mut succeeds only for the last reference, with an Acquire that pairs with the
        // forwarding thread's Release decrement (S): its last use of the ring happened before.
        self.owned.retain_mut(|attachment| Arc::get_mut(attachment).is_none());
    }
}

/// Is the watched connection still up and its ring not retired? Blocks up to the watch interval.
/// spantapd sends nothing unasked after the attach reply: anything readable is the hang-up.
fn alive(attachment: &Attachment) -> bool {
    use std::os::fd::AsFd;
    match sys::poll_readable(attachment.connection.as_fd(), abi::SESSION_WATCH_MS) {
        Ok(true) => false,
        Err(error) if error.kind() != std::io::ErrorKind::Interrupted => false,
        _ => attachment.ring.rule_table().generation.load(Ordering::Acquire) != abi::RULES_RETIRED, // (E)
    }
}
