"""Row 1: SinkService (io_uring, write(2) fallback) vs a C write(2) loop into a TAP; row 1b: a
multi-queue TAP with 2 sink workers vs 1."""

import signal

from figures import ratio_figure, stat
from rows import row
from tools import key_values

# Same memory footprint per size (slots x stride), as the C loop and the Swift sink both use.
GEOMETRY = {64: (65536, 128), 512: (32768, 576), 1500: (16384, 1536)}


def versus_baseline(run, measure_baseline, sink_args, *, id_prefix, row, what, write_label, baseline):
    """SinkService with io_uring and with its write(2) fallback, each against `measure_baseline()`
    (a C program's fps), repetitions alternating so drift hits all three alike: one ratio figure
    per write method. `baseline`: (its name in the figure's parts, how the table names it)."""
    c, uring, write = [], [], []
    for _ in range(run.reps):
        c.append(measure_baseline())
        for method, samples in (("on", uring), ("off", write)):
            samples.append(run.bench("sink", *sink_args, "--io-uring", method)["fps"])
    c = stat(c)
    figures = []
    for name, samples, label in (("io_uring", uring, "io_uring"), ("write", write, write_label)):
        s = stat(samples)
        figures.append(ratio_figure(
            f"{id_prefix}.{name}", row, f"{what}, {label}",
            f"SinkService {s['median']:.0f} fps / {baseline[1]} {c['median']:.0f} fps", ("sink_fps", s), (baseline[0], c)))
    return figures


@row("1", c_programs=("tap_write_loop",), commands=("tcpdump",))
def sink_throughput(run):
    """fps of SinkService (io_uring, write(2)) vs a C write(2) loop into one TAP, 3 sizes, no reader / tcpdump."""
    lab = run.lab
    tap = lab.persistent_tap(lab.name("sbT"))
    figures = []
    for size, (slots, stride) in GEOMETRY.items():
        for reader in ("none", "tcpdump"):
            run.say(f"row 1: {size} B, reader {reader} ({run.reps}x: C write(2), io_uring, write(2))")
            tcpdump = lab.tcpdump(tap) if reader == "tcpdump" else None
            baseline = lambda: key_values(lab.run(run.tools.tap_write_loop, tap, size, slots, stride, 1),
                                          ["fps"], "tap_write_loop")["fps"]
            figures += versus_baseline(run, baseline, ["--tap", tap, "--size", size, "--slots", slots, "--seconds", 1],
                                       id_prefix=f"1.sink.{size}.{reader}", row="1",
                                       what=f"sink throughput, {size} B, reader: {reader}", write_label="write(2) fallback",
                                       baseline=("c_write_fps", "C write(2)"))
            if tcpdump:
                lab.stop(tcpdump, signal.SIGINT)
    return figures


@row("1b")
def multi_queue(run):
    """A multi-queue TAP: 2 sink workers on their own queues vs 1 worker, 2 rings of 64 B."""
    lab = run.lab
    tap = lab.persistent_tap(lab.name("sbQ"), multi_queue=True)
    figures = []
    # Two rings either way, so the only difference is a second worker writing to its own queue.
    for method, label in (("on", "io_uring"), ("off", "write(2)")):
        run.say(f"row 1b: 2 queues, 2 rings, 1 vs 2 workers, {label} ({run.reps}x)")
        one, two = [], []
        for _ in range(run.reps):
            for workers, samples in ((1, one), (2, two)):
                samples.append(run.bench("sink", "--tap", tap, "--size", 64, "--slots", 32768, "--seconds", 1,
                                         "--queues", 2, "--workers", workers, "--rings", 2, "--io-uring", method)["fps"])
        one, two = stat(one), stat(two)
        figures.append(ratio_figure(
            f"1b.multiqueue.{'io_uring' if method == 'on' else 'write'}", "1b",
            f"multi-queue TAP, 64 B, reader: none, 2 rings, {label}",
            f"2 queues + 2 workers {two['median']:.0f} fps / 1 worker {one['median']:.0f} fps",
            ("two_workers_fps", two), ("one_worker_fps", one)))
    return figures
