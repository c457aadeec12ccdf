#!/usr/bin/env bash
# SpanTap benchmarks: the harness in Benchmarks/harness (docs/BENCHMARKS.md; --help for options).
exec python3 -B "$(dirname "$0")/../Benchmarks/harness/bench.py" "$@"
