//! The producer side of SpanTap's handoff ring, ABI version 4 (Sources/CSpanTapRing/include/
//! spantap_ring.h, spantap_filter.h and spantap_session.h), for a Rust dataplane: attach to
//! spantapd, follow the mirror rules and filter programs it writes into the ring (classic BPF,
//! validated once per copy, run per frame: `filter`), sample, rate-limit, stage and publish clones once per
//! batch, and survive spantapd restarts, without the forwarding thread ever blocking, locking,
//! allocating or entering the kernel (except the ring's eventfd wake-up when the sink sleeps).
//!
//! A worker thread per RX queue owns one [`Session`]:
//!
//! ```no_run
//! use spantap_producer::{Direction, Offer, Session, monotonic_ns};
//! let mut session = Session::start("/run/spantap/spantapd.sock", "xpf-0").unwrap();
//! # let batch: Vec<(u32, Vec<u8>)> = Vec::new();
//! loop {
//!     session.begin_batch(monotonic_ns());
//!     for (ifindex, frame) in &batch {
//!         // ... forward the frame, then offer the clone:
//!         match session.offer(*ifindex, Direction::Received, frame) {
//!             Offer::Mirrored | Offer::Skipped | Offer::Filtered => {}
//!             _other => { /* count it in the forwarder's own metrics */ }
//!         }
//!     }
//!     session.publish();
//! #   break;
//! }
//! ```
//!
//! Memory-order pairs carry the header's labels at every site: (A) producer_index, (B)
//! consumer_index, (C) the wake-up handshake, (D) the rule table's seqlock, (E) retirement,
//! (S) the session's handover between its helper thread and the forwarding thread.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

#[cfg(not(all(target_os = "linux", target_pointer_width = "64", target_endian = "little")))]
compile_error!("spantap-producer supports 64-bit little-endian Linux (the ring's byte order is the host's)");

pub mod abi;
pub use abi::Rule;
mod attach;
pub mod filter;
mod ring;
mod rules;
mod session;
mod sys;

pub use attach::AttachError;
pub use ring::{Geometry, GeometryError, Producer, Ring, RingCounters, Staged};
pub use rules::{Direction, Refresh, RuleCache, Sample, frame_vlan};
pub use session::{Counters, LogSink, Offer, Session};

/// CLOCK_MONOTONIC in nanoseconds: the clock of the records' timestamps and of `begin_batch`.
pub fn monotonic_ns() -> u64 {
    sys::monotonic_ns()
}
