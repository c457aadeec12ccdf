"""Deterministic counts under valgrind: instructions per packet from a function's inclusive
callgrind cost at N and 2N packets, and allocation / ARC call counts.

The function is found by its demangled Swift (or C) name, never by a guessed mangled string:
a rename, an inlined function or a run that never reached it is an error, not a count of 0.
"""

import os
import re
import subprocess
from collections import defaultdict

from lab import LabError


# Swift seeds its hashing per process, so Set and Dictionary orders (and the retains of the code
# walking them: argument parsing does) would differ from run to run.
ENVIRONMENT = {**os.environ, "SWIFT_DETERMINISTIC_HASHING": "1"}


class Profile:
    """One callgrind output file (run with --compress-strings=no --compress-pos=no): per function,
    its inclusive instruction count and the calls it made to each callee."""

    def __init__(self, path):
        self.inclusive = defaultdict(int)
        self.calls = defaultdict(int)       # callee -> number of calls, over all callers
        self.total = None
        function = callee = None
        with open(path, errors="replace") as profile:
            for line in profile:
                if line.startswith("fn="):
                    function = line[3:].rstrip("\n")
                elif line.startswith("cfn="):
                    callee = line[4:].rstrip("\n")
                elif line.startswith("calls="):
                    self.calls[callee] += int(line[6:].split()[0])
                elif line[:1].isdigit() or line[:1] in "+-*":
                    cost = line.split()
                    if len(cost) >= 2 and function is not None:
                        # A cost line after calls= is the call's inclusive cost, else the line's own.
                        self.inclusive[function] += int(cost[1])
                elif line.startswith("totals:") or line.startswith("summary:"):
                    self.total = int(line.split()[1])
        if self.total is None or not self.inclusive:
            raise LabError(f"{path}: not a callgrind profile (no totals, no functions)")


def demangle(names):
    """Swift names demangled in the order given (C names come back unchanged)."""
    if not names:
        return []
    text = "\n".join(n if n.startswith("$") or not n.startswith("s") else "$" + n for n in names)
    done = subprocess.run(["swift", "demangle"], input=text, capture_output=True, text=True, check=True)
    lines = done.stdout.split("\n")
    if len(lines) < len(names):
        raise LabError(f"swift demangle returned {len(lines)} names for {len(names)}")
    return lines[:len(names)]


def find_function(profile, pattern, description):
    """The one function of the profile whose demangled name matches `pattern` (a regex) and that
    ran; its inclusive instruction count. None, several or a zero count is an error."""
    names = [n for n in profile.inclusive if profile.inclusive[n] > 0]
    matches = [(n, d) for n, d in zip(names, demangle(names)) if re.search(pattern, d)]
    if len(matches) != 1:
        near = [d for _, d in zip(names, demangle(names)) if description.split()[0] in d][:8]
        raise LabError(f"callgrind: {len(matches)} functions match {description} (/{pattern}/), expected 1: "
                       f"{[d for _, d in matches] or 'none'}; similar names that ran: {near or 'none'}")
    name, _ = matches[0]
    return profile.inclusive[name]


def run(argv, output):
    done = subprocess.run(["valgrind", "--tool=callgrind", "--compress-strings=no", "--compress-pos=no",
                           f"--callgrind-out-file={output}", *map(str, argv)],
                          capture_output=True, text=True, timeout=600, env=ENVIRONMENT)
    if done.returncode != 0:
        raise LabError(f"callgrind of {' '.join(map(str, argv))} exited {done.returncode}: {done.stderr[-2000:]}")
    return Profile(output)


def per_packet(argv_for, packets, pattern, description, work):
    """Instructions per packet of the function matching `pattern`: its inclusive count for
    2 x `packets` minus that for `packets`, over `packets` (fixed costs cancel out).
    `argv_for(n)` is the command for n packets. Returns (per packet, count at N, count at 2N)."""
    counts = []
    for n in (packets, 2 * packets):
        profile = run(argv_for(n), work / f"callgrind-{n}.out")
        counts.append(find_function(profile, pattern, description))
    per = (counts[1] - counts[0]) / packets
    if per <= 0:
        raise LabError(f"callgrind: {description} cost {counts[0]} at {packets} and {counts[1]} at {2 * packets} "
                       "packets: no per-packet work was measured")
    return per, counts[0], counts[1]


ARC = re.compile(r"^swift_(retain|release)")


def allocations(argv, work):
    """(heap allocations by memcheck, swift_retain*/swift_release* calls, malloc calls) of a run."""
    done = subprocess.run(["valgrind", "--tool=memcheck", *map(str, argv)], capture_output=True, text=True, timeout=600,
                          env=ENVIRONMENT)
    heap = re.search(r"total heap usage: ([\d,]+) allocs", done.stderr)
    if done.returncode != 0 or not heap:
        raise LabError(f"memcheck of {' '.join(map(str, argv))} exited {done.returncode} without a heap summary: "
                       f"{done.stderr[-2000:]}")
    profile = run(argv, work / "callgrind-calls.out")
    arc = sum(count for callee, count in profile.calls.items() if ARC.match(callee))
    malloc = profile.calls.get("malloc", 0)
    if arc == 0 or malloc == 0:
        raise LabError(f"callgrind saw {arc} swift_retain/release and {malloc} malloc calls in "
                       f"{' '.join(map(str, argv))}: the runtime makes both at start-up, so the names were not found")
    return int(heap.group(1).replace(",", "")), arc, malloc
