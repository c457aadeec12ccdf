"""Row 8: filters (spantap_filter.h) on the frames of the filter tests' fixture
(Tests/Fixtures/filter/filter_frames.c: TCP/UDP/ICMP, IPv4/IPv6, VLAN-tagged, truncated, runts),
beside libpcap's own pcap_offline_filter on the same frames and program in the same process
(Benchmarks/filter_bench.c), and what a frame its rule's filter rejects costs a producer
(Benchmarks/c_producer_bench.c, mode rejected). ns per frame (timing) and instructions per frame
(callgrind: deterministic). A port that is not mirrored runs no filter: row 2's unmirrored figure."""

import callgrind
from figures import Figure, ratio_figure, stat
from rows import row
from tools import key_values

EXPRESSION = "tcp port 443 and net 10.0.0.0/8"
TIMED_ROUNDS = 2_000        # x 2400 frames per timed repetition
COUNTED_ROUNDS = 10         # callgrind: 10 vs 20 rounds
REJECTED_FRAMES = 20_000_000


def fixture(run):
    frames = run.lab.work / "filter-frames.pcap"
    if not frames.exists():
        run.lab.run(run.tools.filter_frames, frames)
    return frames


def filter_run(run, interpreter, rounds):
    line = run.lab.run(run.tools.filter_bench, fixture(run), EXPRESSION, interpreter, rounds)
    return key_values(line, ["frames", "instructions", "accepted", "ns_per_frame"], "filter_bench")


@row("8-ns", table_row="8", root=False, products=(), c_programs=("filter_bench", "filter_frames", "c_producer_bench"))
def filter_nanoseconds(run):
    """ns per frame of our interpreter and libpcap's on the same frames, and of a rejected frame."""
    run.say(f"row 8: filter '{EXPRESSION}', ns per frame, spantap_filter.h vs pcap_offline_filter ({run.reps}x)")
    ours, theirs = [], []
    for _ in range(run.reps):   # interleaved, so drift on a shared machine hits both alike
        ours.append(filter_run(run, "spantap", TIMED_ROUNDS))
        theirs.append(filter_run(run, "libpcap", TIMED_ROUNDS))
    if any(o["accepted"] != t["accepted"] for o, t in zip(ours, theirs)):
        raise ValueError(f"the interpreters disagree: accepted {[o['accepted'] for o in ours]} vs {[t['accepted'] for t in theirs]}")
    spantap, libpcap = stat([o["ns_per_frame"] for o in ours]), stat([t["ns_per_frame"] for t in theirs])
    program = f"{int(ours[0]['instructions'])} instructions, {int(ours[0]['frames'])} frames"

    def producer(mode):
        return stat(run.repeat(lambda: key_values(run.lab.run(run.tools.c_producer_bench, mode, 64, 32, REJECTED_FRAMES),
                                                  ["ns_per_frame"], "c_producer_bench")["ns_per_frame"]))
    rejected, forwarder = producer("rejected"), producer("forwarder")
    return [
        Figure(id="8.filter.spantap", row="8", what=f"filter `{EXPRESSION}` ({program}), spantap_filter.h, ns per frame",
               measured=f"{spantap['median']:.2f} ns/frame (libpcap {libpcap['median']:.2f})", value=spantap["median"],
               unit="ns", headline=f"**{spantap['median']:.2f} ns**", samples=spantap["samples"],
               parts={"spantap_ns": spantap, "libpcap_ns": libpcap}),
        ratio_figure("8.filter.vs_libpcap", "8", f"the same, spantap_filter.h over pcap_offline_filter ({program})",
                     f"{spantap['median']:.2f} / {libpcap['median']:.2f} ns/frame",
                     ("spantap_ns", spantap), ("libpcap_ns", libpcap)),
        Figure(id="8.rejected", row="8",
               what="a producer's frame its rule's filter (`ip`, 4 instructions) rejects: refresh per batch, find + "
                    "filter + count per frame, 64 B; beside the unfiltered forwarder loop that stages every frame",
               measured=f"{rejected['median']:.2f} ns/frame (forwarder, staged: {forwarder['median']:.2f})",
               value=rejected["median"], unit="ns", headline=f"**{rejected['median']:.2f} ns**",
               samples=rejected["samples"], parts={"rejected_ns": rejected, "forwarder_ns": forwarder}),
    ]


@row("8-instructions", table_row="8", deterministic=True, root=False, products=(),
     c_programs=("filter_bench", "filter_frames", "c_producer_bench"), commands=("valgrind", "swift"))
def filter_instructions(run):
    """Instructions per frame (callgrind, main inclusive at N vs 2N rounds / frames)."""
    run.say(f"row 8: filter '{EXPRESSION}', instructions per frame (callgrind)")
    frames = int(filter_run(run, "spantap", 0)["frames"])
    per = {}
    for interpreter in ("spantap", "libpcap"):
        rounds, at_n, at_2n = callgrind.per_packet(
            lambda n, i=interpreter: [run.tools.filter_bench, fixture(run), EXPRESSION, i, n],
            COUNTED_ROUNDS, r"^main$", "main() of filter_bench", run.lab.work)
        per[interpreter] = {"per_frame": rounds / frames, "at_n": at_n, "at_2n": at_2n}
    rejected, at_n, at_2n = callgrind.per_packet(
        lambda n: [run.tools.c_producer_bench, "rejected", 64, 32, n], 64_000, r"^main$", "main() of c_producer_bench",
        run.lab.work)
    ours, theirs = per["spantap"]["per_frame"], per["libpcap"]["per_frame"]
    return [
        Figure(id="8.instructions.spantap", row="8",
               what=f"filter `{EXPRESSION}`, spantap_filter.h instructions per frame (callgrind, {frames} frames)",
               measured=f"{ours:.1f} (libpcap {theirs:.1f})", value=ours, unit="instructions",
               headline=f"**{ours:.1f}**", parts=per),
        Figure(id="8.instructions.vs_libpcap", row="8", what="the same, over pcap_offline_filter's",
               measured=f"{ours:.1f} / {theirs:.1f}", value=ours / theirs, unit="x", headline=f"**{ours / theirs:.2f}x**",
               parts=per),
        Figure(id="8.instructions.rejected", row="8",
               what="a producer's frame its rule's filter (`ip`) rejects, instructions per frame (c_producer_bench rejected)",
               measured=f"{rejected:.1f}", value=rejected, unit="instructions", headline=f"**{rejected:.1f}**",
               parts={"at_n": at_n, "at_2n": at_2n, "n": 64_000}),
    ]
