"""The programs a run measures: the release Swift products and the C baselines, built once per
run into the lab's folder, and the parser for the C programs' `key=value` summary lines."""

import shutil
import subprocess
import sys
from pathlib import Path

from lab import LabError

ROOT = Path(__file__).resolve().parents[2]


def key_values(line, keys, source):
    """The `keys` of a `key=value ...` line, as floats where they parse. A missing key is an
    error naming the program and its line."""
    fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
    missing = [k for k in keys if k not in fields]
    if missing:
        raise LabError(f"{source}: no {', '.join(missing)} in its output: {line.strip()[:300]!r}")
    values = {}
    for k in keys:
        try:
            values[k] = float(fields[k])
        except ValueError:
            values[k] = fields[k]
    return values


class Tools:
    def __init__(self, work, scratch, products, c_programs, say):
        self.work = Path(work)
        build = ["swift", "build", "-c", "release", "--scratch-path", str(scratch)]
        for product in products:
            say(f"building release {product}")
            self._quiet(build + ["--product", product], cwd=ROOT)
        self.bin = Path(subprocess.run(build + ["--show-bin-path"], cwd=ROOT, capture_output=True, text=True,
                                       check=True).stdout.strip())
        self.bench = self.bin / "spantap-bench"
        self.spantapd = self.bin / "spantapd"
        self.spantap = self.bin / "spantap"
        # valgrind 3.19 cannot read the DWARF 5 that swiftc emits: it measures a copy without it.
        self.bench_nodebug = self.work / "spantap-bench-nodebug"
        if "spantap-bench" in products:
            self._quiet(["strip", "--strip-debug", "-o", str(self.bench_nodebug), str(self.bench)])
        ring = ["-I", str(ROOT / "Sources/CSpanTapRing/include")]
        recipes = {
            "tap_write_loop": ["-O2", "-Wall", "Benchmarks/tap_write_loop.c"],
            "paced_sender": ["-O2", "-Wall", "Benchmarks/paced_sender.c"],
            "gre_send_loop": ["-O2", "-Wall", "Benchmarks/gre_send_loop.c"],
            "spantap_producer": ["-std=c11", "-O2", "-pthread", *ring, "Examples/c-producer/spantap_producer.c"],
            "c_producer_bench": ["-std=c11", "-O2", "-pthread", *ring, "Benchmarks/c_producer_bench.c"],
            "filter_bench": ["-O2", "-Wall", *ring, "Benchmarks/filter_bench.c", "-lpcap"],
            "filter_frames": ["-O2", "-Wall", "Tests/Fixtures/filter/filter_frames.c", "-lpcap"],
        }
        for name in c_programs:
            if name == "rust_producer_bench":  # the Rust crate's twin of c_producer_bench, built by cargo
                crate = ROOT / "rust/spantap-producer"
                self._quiet(["cargo", "build", "--offline", "--release", "--manifest-path", str(crate / "Cargo.toml"),
                             "--bin", "spantap-rust-producer-bench"], cwd=ROOT)
                setattr(self, name, crate / "target/release/spantap-rust-producer-bench")
                continue
            self._quiet(["gcc", *recipes[name], "-o", str(self.work / name)], cwd=ROOT)
            setattr(self, name, self.work / name)

    @staticmethod
    def _quiet(argv, cwd=None):
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
        if done.returncode != 0:
            sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
            raise LabError(f"`{' '.join(argv)}` failed ({done.returncode})")


def missing_commands(commands):
    return [c for c in commands if shutil.which(c) is None]
