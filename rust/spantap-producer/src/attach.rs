//! One attach request over spantapd's control socket (helper thread only: it blocks):
//!     {"command":"attach-producer","name":"xpf-0","abi":4,"reattaches":0}
//! A successful reply is one JSON line carrying two descriptors (SCM_RIGHTS): the ring's memfd,
//! then its eventfd. The ring is mapped and used only if the memfd's size, the header's geometry
//! and the reply's slot_count, slot_size and mapping_size all agree.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use crate::abi;
use crate::ring::{Geometry, Ring};
use crate::sys;

/// Why an attach did not give a ring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttachError {
    /// No spantapd answered (cannot connect, connection dropped, no reply line).
    Unreachable(String),
    /// spantapd answered and refused; its reason.
    Refused(String),
    /// spantapd answered with a ring this producer will not use (geometry, version, mapping).
    Invalid(String),
}

impl fmt::Display for AttachError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttachError::Unreachable(why) => write!(f, "attach failed: {why}"),
            AttachError::Refused(why) => write!(f, "attach refused: {why}"),
            AttachError::Invalid(why) => write!(f, "attach: unusable ring: {why}"),
        }
    }
}

impl std::error::Error for AttachError {}

/// A ring spantapd gave this producer, with what keeps it attached.
pub struct Attachment {
    pub(crate) ring: Ring,
    pub(crate) eventfd: OwnedFd,
    /// Kept open for as long as the ring is fed (closing it detaches the producer); only the
    /// helper thread watches it.
    pub(crate) connection: UnixStream,
}

/// The JSON reply is spantapd's: a real JSON parser is not needed for the few numbers read.
/// The first number stored under `key`, if any.
pub(crate) fn json_number(json: &str, key: &str) -> Option<u64> {
    let pattern = format!("\"{key}\":");
    let at = json.find(&pattern)? + pattern.len();
    let digits: String = json[at..].trim_start().chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The first string stored under `key` (escapes left as they are), if any.
fn json_string(json: &str, key: &str) -> Option<String> {
    let pattern = format!("\"{key}\":\"");
    let at = json.find(&pattern)? + pattern.len();
    let mut end = at;
    let bytes = json.as_bytes();
    while end < bytes.len() && (bytes[end] != b'"' || bytes[end - 1] == b'\\') {
        end += 1;
    }
    Some(json[at..end].to_string())
}

/// Whether `name` can go into the request as it is (spantapd limits names to 64 bytes).
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && !name.chars().any(|c| c == '"' || c == '\\' || c.is_control())
}

/// Connects, asks for a ring, maps and checks it. `timeout` bounds every read and write, so a
/// hung spantapd cannot hang the helper.
pub(crate) fn attach(path: &Path, name: &str, reattaches: u32, timeout: Duration) -> Result<Attachment, AttachError> {
    let unreachable = |error: io::Error| AttachError::Unreachable(format!("{}: {error}", path.display()));
    let connection = UnixStream::connect(path).map_err(unreachable)?;
    connection.set_read_timeout(Some(timeout)).map_err(unreachable)?;
    connection.set_write_timeout(Some(timeout)).map_err(unreachable)?;
    let request = format!(
        "{{\"command\":\"attach-producer\",\"name\":\"{name}\",\"abi\":{},\"reattaches\":{reattaches}}}\n",
        abi::RING_VERSION
    );
    sys::send_all(connection.as_fd(), request.as_bytes()).map_err(unreachable)?;

    let mut reply = vec![0u8; abi::ATTACH_REPLY_MAX];
    let mut used = 0;
    let mut fds = Vec::new();
    while used < reply.len() && !reply[..used].contains(&b'\n') {
        match sys::receive_with_fds(connection.as_fd(), &mut reply[used..], &mut fds) {
            Ok(0) => break,
            Ok(n) => used += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(unreachable(error)),
        }
    }
    let Some(line_end) = reply[..used].iter().position(|&b| b == b'\n') else {
        return Err(AttachError::Unreachable(format!("{}: no reply line", path.display())));
    };
    let line = String::from_utf8_lossy(&reply[..line_end]).into_owned();
    if !line.contains("\"ok\":true") {
        return Err(AttachError::Refused(json_string(&line, "error").unwrap_or(line)));
    }
    let [memfd, eventfd]: [OwnedFd; 2] = fds
        .try_into()
        .map_err(|fds: Vec<OwnedFd>| AttachError::Invalid(format!("the reply carried {} descriptors, not 2", fds.len())))?;
    let number = |key: &str| json_number(&line, key).ok_or_else(|| AttachError::Invalid(format!("the reply has no {key}")));
    let fits = |value: u64, key: &str| u32::try_from(value).map_err(|_| AttachError::Invalid(format!("{key} {value} is out of range")));
    let expected = Geometry {
        slot_count: fits(number("slot_count")?, "slot_count")?,
        slot_size: fits(number("slot_size")?, "slot_size")?,
        snap_length: 0,
        mapping_size: number("mapping_size")?,
    };
    let ring = Ring::map(memfd, Some(expected)).map_err(|error| AttachError::Invalid(error.to_string()))?;
    debug_assert!(eventfd.as_raw_fd() >= 0);
    Ok(Attachment { ring, eventfd, connection })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_numbers_and_reasons_of_a_reply() {
        let reply = r#"{"ok":true,"producer":{"name":"x","slot_count":1024,"slot_size":2048,"mapping_size":2105856}}"#;
        assert_eq!(json_number(reply, "slot_count"), Some(1024));
        assert_eq!(json_number(reply, "mapping_size"), Some(2105856));
        assert_eq!(json_number(reply, "snap"), None);
        let refusal = r#"{"ok":false,"error":"abi 2 is not \"3\""}"#;
        assert_eq!(json_string(refusal, "error").as_deref(), Some(r#"abi 2 is not \"3\""#));
    }

    #[test]
    fn names_that_would_break_the_request_are_refused() {
        assert!(valid_name("xpf-0"));
        assert!(!valid_name(""));
        assert!(!valid_name("a\"b"));
        assert!(!valid_name("a\nb"));
        assert!(!valid_name(&"x".repeat(65)));
    }
}
