//! C programs the tests build against the repository's headers (Sources/CSpanTapRing/include),
//! with the system's `cc`, into the test target's scratch directory.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The C headers the crate mirrors.
pub fn include_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Sources/CSpanTapRing/include")
}

/// Compiles `source` (warnings are errors) into `name` in the scratch directory; returns its path.
pub fn compile(source: &Path, name: &str) -> PathBuf {
    let binary = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let compiled = Command::new("cc")
        .args(["-std=gnu11", "-O2", "-Wall", "-Werror", "-I"])
        .arg(include_dir())
        .arg("-o")
        .arg(&binary)
        .arg(source)
        .output()
        .expect("cc (the tests compile C against the repository's headers)");
    assert!(compiled.status.success(), "cc {}: {}", source.display(), String::from_utf8_lossy(&compiled.stderr));
    binary
}
