"""SpanTap benchmarks (docs/BENCHMARKS.md): runs the selected rows in one lab, writes every figure
to JSON, prints the table, and with --check exits 1 naming each target missed.

    sudo scripts/bench.sh                             every row (about 5 minutes on 2 cores + build)
    scripts/bench.sh --rows deterministic --check     the instruction / allocation counts (CI)
    sudo scripts/bench.sh --rows 2 3b --reps 5        some rows
    sudo scripts/bench.sh --docs                      ... and regenerate the docs' table from the JSON
    scripts/bench.sh --render FILE.json               regenerate the docs' table from a saved run
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import render  # noqa: E402
from context import Context  # noqa: E402
from figures import check, load_thresholds  # noqa: E402
from lab import Lab  # noqa: E402
from rows import ROWS, select  # noqa: E402
from tools import ROOT, Tools, missing_commands  # noqa: E402

THRESHOLDS = ROOT / "Benchmarks/thresholds.json"
LATEST = ROOT / "Benchmarks/results/latest.json"
DOC = ROOT / "docs/BENCHMARKS.md"


def arguments():
    parser = argparse.ArgumentParser(prog="scripts/bench.sh", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", nargs="+", default=os.environ.get("BENCH_ROWS", "all").split(),
                        help=f"rows to run: {', '.join(ROWS)}; a table row (2 = all of row 2); deterministic; all "
                             "(default; env BENCH_ROWS)")
    parser.add_argument("--reps", type=int, default=int(os.environ.get("BENCH_REPS", 3)),
                        help="repetitions per measurement, medians reported (default 3; env BENCH_REPS)")
    parser.add_argument("--window", type=float, default=float(os.environ.get("BENCH_SECONDS", 2)),
                        help="seconds of the saturating rows' measuring window (default 2; env BENCH_SECONDS)")
    parser.add_argument("--scratch", default=os.environ.get("BENCH_SCRATCH", ".build"),
                        help="SwiftPM scratch path (default .build; env BENCH_SCRATCH)")
    parser.add_argument("--check", action="store_true",
                        help=f"exit 1 naming each figure that misses its target in {THRESHOLDS.relative_to(ROOT)}")
    parser.add_argument("--json", type=Path, help="where to write the results (default .build/bench/results-DATE.json)")
    parser.add_argument("--docs", action="store_true",
                        help=f"copy the results to {LATEST.relative_to(ROOT)} and regenerate the table in "
                             f"{DOC.relative_to(ROOT)} from them")
    parser.add_argument("--note", default="", help="a note stored with the results and shown above the table")
    parser.add_argument("--render", type=Path, metavar="RESULTS.json",
                        help=f"only regenerate {DOC.relative_to(ROOT)}'s table from saved results")
    parser.add_argument("--list", action="store_true", help="list the rows and exit")
    args = parser.parse_args()
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    return args


def first_line(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT).stdout.strip().splitlines()[0]
    except (OSError, IndexError):
        return "unknown"


def machine():
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "unknown")
    return {"cores": os.cpu_count(), "cpu": cpu, "kernel": os.uname().release, "swift": first_line(["swift", "--version"]),
            "valgrind": first_line(["valgrind", "--version"])}


def run_rows(rows, args, thresholds):
    figures, errors = [], {}
    with Lab() as lab:
        tools = Tools(lab.work, ROOT / args.scratch if not Path(args.scratch).is_absolute() else args.scratch,
                      sorted({p for r in rows for p in r.products}), sorted({c for r in rows for c in r.c_programs}),
                      lab.say)
        context = Context(lab, tools, args.reps, args.window)
        for row in rows:
            started = lab.processes_started()
            try:
                for figure in row.function(context):
                    figure_json = figure.as_json()
                    target = thresholds.get(figure.id)
                    figure_json["target"] = target
                    if target and "op" in target:
                        met = not check([figure_json], {figure.id: {**target, "row": row.key}}, {row.key})
                        figure_json["check"] = "met" if met else "missed"
                    figures.append(figure_json)
                    context.figures[figure.id] = figure
            except Exception as error:   # the row failed; the others still run, and the run fails
                errors[row.key] = f"{type(error).__name__}: {error}"
                lab.say(f"row {row.key} FAILED: {error}")
                traceback.print_exc(file=sys.stderr)
                lab.stop_started_since(started)
    return figures, errors


def main():
    args = arguments()
    if args.list:
        for r in select(["all"]):
            print(f"{r.key:16} table row {r.table_row:3} {'deterministic' if r.deterministic else 'timing':13} "
                  f"{'root' if r.root else ''}  {r.function.__doc__.splitlines()[0] if r.function.__doc__ else ''}")
        return 0
    if args.render:
        render.update_docs(DOC, args.render)
        print(f"bench: regenerated {DOC.relative_to(ROOT)} from {args.render}")
        return 0
    rows = select(args.rows)
    thresholds = load_thresholds(THRESHOLDS)
    unknown = [k for k, t in thresholds.items() if t.get("row") not in ROWS]
    if unknown:
        raise SystemExit(f"bench: {THRESHOLDS}: entries name no known row: {', '.join(unknown)}")
    if any(r.root for r in rows) and os.geteuid() != 0:
        raise SystemExit(f"bench: rows {' '.join(r.key for r in rows if r.root)} need root (namespaces, veths, TAPs, XDP)")
    missing = missing_commands(sorted({"gcc", "strip", "swift", "ip"} | {c for r in rows for c in r.commands}))
    if missing:
        raise SystemExit(f"bench: missing {', '.join(missing)} (scripts/setup.sh installs them)")

    started = time.monotonic()
    figures, errors = run_rows(rows, args, thresholds)
    commit = first_line(["git", "rev-parse", "HEAD"])
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                                text=True, cwd=ROOT).stdout.strip())
    results = {
        "machine": machine(),
        "run": {"date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%MZ"), "commit": commit, "dirty": dirty,
                "rows": [r.key for r in rows], "reps": args.reps, "window_seconds": args.window,
                "seconds": time.monotonic() - started, "note": args.note,
                "thresholds": str(THRESHOLDS.relative_to(ROOT))},
        "figures": figures,
        "errors": errors,
    }
    path = args.json or ROOT / ".build/bench" / f"results-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n")
    print()
    print(render.table(results))
    print(f"bench: results in {path}")
    if args.docs:
        LATEST.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, LATEST)
        render.update_docs(DOC, LATEST)
        print(f"bench: regenerated {DOC.relative_to(ROOT)} from {LATEST.relative_to(ROOT)}")

    failed = [f"row {row}: {error.splitlines()[0]}" for row, error in errors.items()]
    if args.check:
        misses = check(figures, thresholds, {r.key for r in rows if r.key not in errors})
        for miss in failed + misses:
            print(f"check: MISSED {miss}")
        checked = sum(1 for f in figures if f.get("check"))
        if failed or misses:
            print(f"check: {len(misses)} of {checked} targets missed, {len(failed)} rows failed")
            return 1
        print(f"check: all {checked} targets met ({', '.join(r.key for r in rows)})")
    elif failed:
        for failure in failed:
            print(f"bench: FAILED {failure}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
