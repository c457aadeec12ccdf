#!/usr/bin/env bash
# The whole test suite, as CI runs it. Privileged tests (TAP, netlink, namespaces, AF_XDP) skip with
# a message when not root, unless SPANTAP_REQUIRE_PRIVILEGED=1, which makes them run or fail.
# The daemon scenarios (SpanTapDaemonTests) run the release spantapd, the binary that ships.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
    scripts/setup.sh
else
    echo "test: not root, skipping scripts/setup.sh (privileged tests will skip)"
fi
# Package.swift against the code: every import declared, every declared dependency imported.
python3 scripts/check-dependencies.py
swift build -c release
SPANTAP_BIN_DIR=$(swift build -c release --show-bin-path)
export SPANTAP_BIN_DIR
swift build --build-tests
swift test --skip-build --disable-xctest
# The benchmark harness's own parsing and checking (no lab).
python3 -B -m unittest discover -s Benchmarks/harness
# The Rust producer crate: unit, layout and allocation tests, and its scenarios against the
# release spantapd (SPANTAP_BIN_DIR above). Offline: the crate has no dependencies.
cargo test --offline --manifest-path rust/spantap-producer/Cargo.toml
