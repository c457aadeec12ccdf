"""Row 7: the C producer API (spantap_ring.h, spantap_session.h) as Benchmarks/c_producer_bench.c
drives it, 64 B frames, every frame mirrored, batches of 32: ns per frame (timing) and instructions
per frame (callgrind: deterministic)."""

import callgrind
from figures import Figure, ratio_figure, stat
from rows import row
from tools import key_values

MODES = ("enqueue", "batched", "forwarder", "session")
COUNTED = 64_000


def nanoseconds(run, program, mode, size=64):
    """Median (and spread) ns per frame of one producer bench run `run.reps` times."""
    return stat(run.repeat(lambda: key_values(run.lab.run(program, mode, size, 32, 20_000_000), ["ns_per_frame"],
                                              program.name)["ns_per_frame"]))


@row("7-ns", table_row="7", root=False, products=(), c_programs=("c_producer_bench", "rust_producer_bench"))
def producer_nanoseconds(run):
    """ns per frame of the C producer (enqueue per frame, batched, as a forwarder uses it, through the
    session) and of the Rust crate beside it on the same frames."""
    run.say(f"row 7: C and Rust producers, ns per mirrored frame ({run.reps}x)")
    c, rust = run.tools.c_producer_bench, run.tools.rust_producer_bench
    ns = {mode: nanoseconds(run, c, mode) for mode in MODES}
    c_1500 = nanoseconds(run, c, "batched", 1500)
    rust_ns = {"batched": nanoseconds(run, rust, "batched"), "forwarder": nanoseconds(run, rust, "forwarder"),
               "batched_1500": nanoseconds(run, rust, "batched", 1500)}
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
        ratio_figure("7.rust.batched.64", "7", "Rust producer vs C, stage + publish per 32, 64 B",
                     f"Rust {rust_ns['batched']['median']:.2f}, C {ns['batched']['median']:.2f} ns/frame",
                     ("rust_ns", rust_ns["batched"]), ("c_ns", ns["batched"])),
        ratio_figure("7.rust.batched.1500", "7", "Rust producer vs C, stage + publish per 32, 1500 B",
                     f"Rust {rust_ns['batched_1500']['median']:.2f}, C {c_1500['median']:.2f} ns/frame",
                     ("rust_ns", rust_ns["batched_1500"]), ("c_ns", c_1500)),
        ratio_figure("7.rust.forwarder", "7", "Rust producer vs C as a forwarder uses it (refresh + find + sample + stage), 64 B",
                     f"Rust {rust_ns['forwarder']['median']:.2f}, C {ns['forwarder']['median']:.2f} ns/frame",
                     ("rust_ns", rust_ns["forwarder"]), ("c_ns", ns["forwarder"])),
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
