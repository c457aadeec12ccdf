"""Row 7: the C producer API (spantap_ring.h, spantap_session.h) as Benchmarks/c_producer_bench.c
drives it, 64 B frames, every frame mirrored, batches of 32: ns per frame (timing) and instructions
per frame (callgrind: deterministic)."""

import callgrind
from figures import Figure, ratio_figure, stat
from rows import row
from tools import key_values

MODES = ("enqueue", "batched", "forwarder", "session")
COUNTED = 64_000


@row("7-ns", table_row="7", root=False, products=(), c_programs=("c_producer_bench",))
def producer_nanoseconds(run):
    """ns per frame of the C producer: enqueue per frame, batched, as a forwarder uses it, through the session."""
    run.say(f"row 7: C producer, ns per mirrored frame ({run.reps}x)")
    ns = {}
    for mode in MODES:
        ns[mode] = stat(run.repeat(lambda mode=mode: key_values(
            run.lab.run(run.tools.c_producer_bench, mode, 64, 32, 20_000_000), ["ns_per_frame"],
            "c_producer_bench")["ns_per_frame"]))
    speedup = ns["enqueue"]["median"] / ns["batched"]["median"]
    extra = ns["forwarder"]["median"] - ns["batched"]["median"]
    session = ns["session"]["median"] - ns["forwarder"]["median"]
    return [
        ratio_figure("7.batched", "7",
                     "C producer, 64 B, every frame mirrored: enqueue per frame vs stage per frame + publish per 32",
                     f"{ns['enqueue']['median']:.2f} / {ns['batched']['median']:.2f} ns/frame",
                     ("enqueue_ns", ns["enqueue"]), ("batched_ns", ns["batched"]),
                     headline=f"batched **{speedup:.2f}x** faster"),
        Figure(id="7.forwarder", row="7",
               what="C producer as a forwarder uses it: rules refresh per batch, find + sample + stage per frame, "
                    "publish per 32",
               measured=f"{ns['forwarder']['median']:.2f} ns/frame", value=extra, unit="ns",
               headline=f"**+{extra:.2f} ns** over stage alone",
               parts={"forwarder_ns": ns["forwarder"], "batched_ns": ns["batched"]}),
        Figure(id="7.session", row="7",
               what="the same through spantap_session.h: begin_batch (liveness: one load) + offer per frame + publish",
               measured=f"{ns['session']['median']:.2f} ns/frame", value=session, unit="ns",
               headline=f"**{session:+.2f} ns** over the forwarder loop",
               parts={"session_ns": ns["session"], "forwarder_ns": ns["forwarder"]}),
    ]


@row("7-instructions", table_row="7", deterministic=True, root=False, products=(), c_programs=("c_producer_bench",),
     commands=("valgrind", "swift"))
def producer_instructions(run):
    """main()'s inclusive instructions (the header's functions are inline) at N vs 2N frames."""
    run.say("row 7: C producer, instructions per frame (callgrind, main inclusive, 64 000 vs 128 000 frames)")
    figures = []
    for mode in MODES:
        per, at_n, at_2n = callgrind.per_packet(lambda n, mode=mode: [run.tools.c_producer_bench, mode, 64, 32, n],
                                                COUNTED, r"^main$", "main() of c_producer_bench", run.lab.work)
        figures.append(Figure(
            id=f"7.instructions.{mode}", row="7",
            what=f"C producer instructions per frame (callgrind), 64 B, batches of 32: {mode}",
            measured=f"{per:.1f}", value=per, unit="instructions", headline=f"**{per:.1f}**",
            parts={"at_n": at_n, "at_2n": at_2n, "n": COUNTED}))
    return figures
