//! The few Linux calls std does not offer, declared against glibc with `#[repr(C)]` types
//! (x86_64 and aarch64 share these layouts; lib.rs refuses other targets). Each wrapper is safe
//! and returns `io::Result`; every `unsafe` of the crate that talks to the kernel is here.

use std::ffi::{CStr, c_int, c_long, c_void};
use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::{NonNull, null_mut};

#[repr(C)]
struct IoVec {
    base: *mut c_void,
    len: usize,
}

#[repr(C)]
struct MsgHdr {
    name: *mut c_void,
    name_len: u32,
    iov: *mut IoVec,
    iov_len: usize,
    control: *mut c_void,
    control_len: usize,
    flags: c_int,
}

#[repr(C)]
struct CmsgHdr {
    len: usize,
    level: c_int,
    kind: c_int,
}

#[repr(C)]
struct PollFd {
    fd: c_int,
    events: i16,
    revents: i16,
}

#[repr(C)]
struct TimeSpec {
    seconds: i64,
    nanoseconds: c_long,
}

/// glibc's sigset_t: 1024 bits.
#[repr(C)]
struct SigSet([u64; 16]);

const _: () = assert!(size_of::<MsgHdr>() == 56 && size_of::<CmsgHdr>() == 16 && size_of::<PollFd>() == 8);

const SOL_SOCKET: c_int = 1;
const SCM_RIGHTS: c_int = 1;
const MSG_NOSIGNAL: c_int = 0x4000;
const MSG_CMSG_CLOEXEC: c_int = 0x4000_0000;
const POLLIN: i16 = 1;
const CLOCK_MONOTONIC: c_int = 1;
const PROT_READ_WRITE: c_int = 1 | 2;
const MAP_SHARED: c_int = 1;
const MAP_FAILED: *mut c_void = !0usize as *mut c_void;
const MFD_CLOEXEC: u32 = 1;
const SIG_SETMASK: c_int = 2;
const EINTR: i32 = 4;

unsafe extern "C" {
    fn send(fd: c_int, buffer: *const c_void, length: usize, flags: c_int) -> isize;
    fn recvmsg(fd: c_int, message: *mut MsgHdr, flags: c_int) -> isize;
    fn poll(fds: *mut PollFd, count: u64, timeout_ms: c_int) -> c_int;
    fn mmap(address: *mut c_void, length: usize, protection: c_int, flags: c_int, fd: c_int, offset: i64) -> *mut c_void;
    fn munmap(address: *mut c_void, length: usize) -> c_int;
    fn write(fd: c_int, buffer: *const c_void, length: usize) -> isize;
    fn clock_gettime(clock: c_int, time: *mut TimeSpec) -> c_int;
    fn memfd_create(name: *const std::ffi::c_char, flags: u32) -> c_int;
    fn pthread_sigmask(how: c_int, set: *const SigSet, old: *mut SigSet) -> c_int;
}

/// CLOCK_MONOTONIC in nanoseconds: the clock of the records' timestamps.
pub fn monotonic_ns() -> u64 {
    let mut now = TimeSpec { seconds: 0, nanoseconds: 0 };
    // SAFETY: `now` is a valid, writable timespec; CLOCK_MONOTONIC cannot fail on Linux.
    unsafe { clock_gettime(CLOCK_MONOTONIC, &mut now) };
    now.seconds as u64 * 1_000_000_000 + now.nanoseconds as u64
}

/// Sends all of `bytes` without raising SIGPIPE if the peer has gone.
pub fn send_all(fd: BorrowedFd<'_>, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        // SAFETY: the pointer and length describe the live slice `bytes`.
        let sent = unsafe { send(fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), MSG_NOSIGNAL) };
        if sent < 0 {
            let error = io::Error::last_os_error();
            if error.raw_os_error() == Some(EINTR) {
                continue;
            }
            return Err(error);
        }
        bytes = &bytes[sent as usize..];
    }
    Ok(())
}

/// One recvmsg into `buffer`, taking every descriptor passed with SCM_RIGHTS into `fds` (so none
/// leaks, however many a peer sends). Returns the bytes read (0: the peer closed).
pub fn receive_with_fds(fd: BorrowedFd<'_>, buffer: &mut [u8], fds: &mut Vec<OwnedFd>) -> io::Result<usize> {
    // Room for up to 8 descriptors: a cmsghdr and 8 ints, 8-byte aligned.
    let mut control = [0u64; 2 + 4];
    let mut iov = IoVec { base: buffer.as_mut_ptr().cast(), len: buffer.len() };
    // SAFETY: all-zero is a valid msghdr (null pointers, zero lengths).
    let mut message: MsgHdr = unsafe { zeroed() };
    message.iov = &mut iov;
    message.iov_len = 1;
    message.control = control.as_mut_ptr().cast();
    message.control_len = size_of::<[u64; 6]>();
    // SAFETY: `message` points at `iov` (describing `buffer`) and `control`, all live and writable.
    let received = unsafe { recvmsg(fd.as_raw_fd(), &mut message, MSG_CMSG_CLOEXEC) };
    if received < 0 {
        return Err(io::Error::last_os_error());
    }
    // Every control message the kernel wrote (CMSG_FIRSTHDR / CMSG_NXTHDR: 8-byte aligned).
    let base = control.as_ptr().cast::<u8>();
    let mut offset = 0;
    while offset + size_of::<CmsgHdr>() <= message.control_len {
        // SAFETY: `offset` is 8-aligned and a whole cmsghdr lies within what the kernel wrote.
        let header = unsafe { base.add(offset).cast::<CmsgHdr>().read() };
        let end = offset + header.len;
        if header.len < size_of::<CmsgHdr>() || end > message.control_len {
            break;
        }
        if header.level == SOL_SOCKET && header.kind == SCM_RIGHTS {
            for at in (offset + size_of::<CmsgHdr>()..end).step_by(size_of::<c_int>()) {
                if at + size_of::<c_int>() > end {
                    break;
                }
                // SAFETY: within this message's descriptors, inside `control`.
                let raw: RawFd = unsafe { base.add(at).cast::<c_int>().read_unaligned() };
                // SAFETY: SCM_RIGHTS just installed `raw` in this process; nothing else owns it.
                fds.push(unsafe { OwnedFd::from_raw_fd(raw) });
            }
        }
        offset = (end + 7) & !7;
    }
    Ok(received as usize)
}

/// Waits up to `timeout_ms` for `fd` to become readable (or hang up). Ok(false): timed out.
pub fn poll_readable(fd: BorrowedFd<'_>, timeout_ms: u64) -> io::Result<bool> {
    let mut watch = PollFd { fd: fd.as_raw_fd(), events: POLLIN, revents: 0 };
    // SAFETY: `watch` is one valid pollfd.
    let ready = unsafe { poll(&mut watch, 1, timeout_ms.min(i32::MAX as u64) as c_int) };
    if ready < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(ready > 0)
}

/// Writes 1 to an eventfd. EAGAIN (the counter is already non-zero) means the reader wakes
/// anyway, so the result is not looked at.
pub fn eventfd_signal(fd: RawFd) {
    let one: u64 = 1;
    // SAFETY: `one` is 8 readable bytes; a bad fd only makes write fail.
    let _ = unsafe { write(fd, (&one as *const u64).cast(), size_of::<u64>()) };
}

/// A shared read-write mapping of a whole file; unmapped on drop.
pub struct Mapping {
    base: NonNull<u8>,
    length: usize,
}

// SAFETY: a mapping is plain memory; which thread unmaps it does not matter.
unsafe impl Send for Mapping {}
// SAFETY: the mapping itself has no thread affinity; its users access the shared words atomically.
unsafe impl Sync for Mapping {}

impl Mapping {
    pub fn shared(fd: BorrowedFd<'_>, length: usize) -> io::Result<Mapping> {
        if length == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "an empty mapping"));
        }
        // SAFETY: a new mapping chosen by the kernel; no existing memory is affected.
        let base = unsafe { mmap(null_mut(), length, PROT_READ_WRITE, MAP_SHARED, fd.as_raw_fd(), 0) };
        if base == MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping { base: NonNull::new(base.cast()).expect("mmap returned NULL"), length })
    }

    pub fn base(&self) -> NonNull<u8> {
        self.base
    }

    pub fn len(&self) -> usize {
        self.length
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `base`/`length` are exactly what mmap returned, and nothing uses them after drop.
        unsafe { munmap(self.base.as_ptr().cast(), self.length) };
    }
}

/// An anonymous memory file (memfd_create), for rings a benchmark or test makes itself.
pub fn memfd(name: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: `name` is NUL-terminated.
    let fd = unsafe { memfd_create(name.as_ptr(), MFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: memfd_create returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Runs `start` with every signal blocked in the calling thread, so a thread it spawns starts
/// (and stays) with them blocked; the caller's mask is restored afterwards.
pub fn with_signals_blocked<T>(start: impl FnOnce() -> T) -> T {
    let all = SigSet([!0; 16]);
    let mut previous = SigSet([0; 16]);
    // SAFETY: both sets are valid sigset_t-sized buffers.
    unsafe { pthread_sigmask(SIG_SETMASK, &all, &mut previous) };
    let result = start();
    // SAFETY: restores the mask saved above.
    unsafe { pthread_sigmask(SIG_SETMASK, &previous, null_mut()) };
    result
}
