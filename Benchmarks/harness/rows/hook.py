"""Row 2: the mirror hook's cost in the shipped forwarding loop (spantap-bench hook: in process,
rings in memory, prepared frames): nanoseconds (timing, contended on a shared machine),
instructions per packet and allocations / ARC per packet (callgrind, memcheck: deterministic)."""

import callgrind
from figures import Figure, stat
from rows import row

TIMED = 16_777_216      # packets per timed repetition
MIRRORED = 8_388_608    # ... with every frame mirrored
COUNTED = 64_000        # packets of the valgrind runs (and twice that)


def ns(run, *args, packets=TIMED):
    """The hook bench's result (median of its 5 in-process repetitions, all 5 kept)."""
    result = run.bench("hook", "--reps", 5, "--packets", packets, *args)
    result["stat"] = stat(result["all"])
    return result


def share(result):
    """Enqueued / offered clones (absent when nothing was offered)."""
    return f"{result['enqueued_share']:.4f}" if "enqueued_share" in result else "n/a"


def plus(value):
    return f"+{value:.2f}" if value >= 0 else f"{value:.2f}"


@row("2-ns", table_row="2", root=False)
def hook_nanoseconds(run):
    """ns per packet the hook adds to the shipped forwarding loop (contended on a shared machine)."""
    run.say("row 2: mirror hook cost in the shipped forwarding loop, ns/packet (medians of 5 in-process repetitions)")
    base64, base1500 = ns(run, "--variant", "none", "--size", 64), ns(run, "--variant", "none", "--size", 1500)
    b64, b1500 = base64["stat"]["median"], base1500["stat"]["median"]
    figures = [Figure(id="2.loop", row="2",
                      what="forwarding loop only, ForwardingLoop.pass + emulated kernel (64 B / 1500 B)",
                      measured=f"{b64:.2f} / {b1500:.2f} ns/packet", value=b64, unit="ns", headline="baseline",
                      parts={"loop_64": base64["stat"], "loop_1500": base1500["stat"]})]

    def over(figure_id, what, result, base, base_name, extra="", headline_prefix=""):
        delta = result["stat"]["median"] - base
        figures.append(Figure(id=figure_id, row="2", what=what,
                              measured=f"{result['stat']['median']:.2f} ns/packet{extra}", value=delta, unit="ns",
                              headline=f"{headline_prefix}**{plus(delta)} ns**",
                              samples=[s - base for s in result["stat"]["samples"]],
                              parts={"hooked": result["stat"], base_name: base}))

    over("2.unmirrored", "+ hook, interface not mirrored", ns(run, "--variant", "unmirrored", "--size", 64), b64, "loop")
    r1000 = ns(run, "--variant", "rate:1000", "--size", 64)
    over("2.rate1000", "+ hook, rate 1000 (not sampled 999/1000; down-counter, no division)", r1000, b64, "loop")
    over("2.rate1024", "+ hook, rate 1024 (the same down-counter)", ns(run, "--variant", "rate:1024", "--size", 64), b64,
         "loop")
    over("2.limiter", "+ hook, rate 1000 and max-packets-per-second 1000 (token bucket refilled per batch)",
         ns(run, "--variant", "rate:1000", "--limit", 1000, "--size", 64), r1000["stat"]["median"], "rate1000",
         headline_prefix="limiter: ")
    figures[-1].headline += " over rate 1000"
    for size, base in ((64, b64), (1500, b1500)):
        result = ns(run, "--variant", "rate:1", "--size", size, "--consumer", "batch", packets=MIRRORED)
        over(f"2.rate1.consumer.{size}", f"+ hook, rate 1, {size} B, consumer thread (batching)", result, base, "loop",
             extra=f", enqueued share {share(result)}")
    inline = {size: ns(run, "--variant", "rate:1", "--size", size, "--inline-consumer", packets=MIRRORED)
              for size in (64, 1500)}
    d64, d1500 = inline[64]["stat"]["median"] - b64, inline[1500]["stat"]["median"] - b1500
    figures.append(Figure(
        id="2.rate1.inline", row="2",
        what="+ hook, rate 1, 64 B / 1500 B, ring drained on the same core after each batch (drain cost included)",
        measured=f"{inline[64]['stat']['median']:.2f} / {inline[1500]['stat']['median']:.2f} ns/packet",
        value=d64, unit="ns", headline=f"**{plus(d64)} / {plus(d1500)} ns**",
        samples=[s - b64 for s in inline[64]["stat"]["samples"]],
        parts={"hooked_64": inline[64]["stat"], "hooked_1500": inline[1500]["stat"], "loop_64": b64, "loop_1500": b1500}))
    spin = ns(run, "--variant", "rate:1", "--size", 64, "--consumer", "spin", packets=MIRRORED)
    over("2.rate1.spin", "+ hook, rate 1, 64 B, consumer thread spinning on the producer index", spin, b64, "loop",
         extra=f", enqueued share {share(spin)}")
    return figures


def loop_pass(hook):
    """The specialization of ForwardingLoop.pass() the variant runs (spantapd ships <MirrorHook>)."""
    return (rf"^generic specialization <SpanTapFastPath\.{hook}> of SpanTapFastPath\.ForwardingLoop\.pass\(\)",
            f"ForwardingLoop<{hook}>.pass()")


@row("2-instructions", table_row="2", deterministic=True, root=False, commands=("valgrind", "swift"))
def hook_instructions(run):
    """Instructions per packet in the loop (ForwardingLoop.pass, inclusive) from N vs 2N packets."""
    run.say("row 2: instructions per packet (callgrind, ForwardingLoop.pass inclusive, 64 000 vs 128 000 packets)")
    variants = {"none": ("none", [], "NoHook"), "unmirrored": ("unmirrored", [], "MirrorHook"),
                "rate1000": ("rate:1000", [], "MirrorHook"), "limiter": ("rate:1000", ["--limit", 1000], "MirrorHook")}
    counts = {}
    for name, (variant, extra, hook) in variants.items():
        pattern, description = loop_pass(hook)
        argv = lambda n, variant=variant, extra=extra: [run.tools.bench_nodebug, "hook", "--reps", 1, "--packets", n,
                                                        "--variant", variant, "--size", 64, *extra]
        counts[name] = callgrind.per_packet(argv, COUNTED, pattern, description, run.lab.work)
    per = {name: c[0] for name, c in counts.items()}
    parts = {name: {"per_packet": c[0], "at_n": c[1], "at_2n": c[2], "n": COUNTED} for name, c in counts.items()}
    what = "instructions per packet (callgrind, ForwardingLoop.pass inclusive)"
    return [
        Figure(id="2.instructions.loop", row="2", what=f"{what}: loop only", measured=f"{per['none']:.1f}",
               value=per["none"], unit="instructions", headline=f"**{per['none']:.1f}**", parts=parts),
        Figure(id="2.instructions.unmirrored", row="2", what=f"{what}: + hook, not mirrored",
               measured=f"{per['unmirrored']:.1f}", value=per["unmirrored"] - per["none"], unit="instructions",
               headline=f"hook **+{per['unmirrored'] - per['none']:.2f}**", parts=parts),
        Figure(id="2.instructions.rate1000", row="2", what=f"{what}: + hook, rate 1000",
               measured=f"{per['rate1000']:.1f}", value=per["rate1000"] - per["none"], unit="instructions",
               headline=f"hook **+{per['rate1000'] - per['none']:.2f}**", parts=parts),
        Figure(id="2.instructions.limiter", row="2", what=f"{what}: + hook, rate 1000 + max-packets-per-second",
               measured=f"{per['limiter']:.1f}", value=per["limiter"] - per["rate1000"], unit="instructions",
               headline=f"limiter **+{per['limiter'] - per['rate1000']:.2f}** over rate 1000", parts=parts),
    ]


@row("2-allocations", table_row="2", deterministic=True, root=False, commands=("valgrind",))
def hook_allocations(run):
    """Equal heap allocations, retain/release and malloc calls for N and 2N packets = none per packet."""
    run.say("row 2: allocations / ARC under valgrind (memcheck + callgrind, 64 000 vs 128 000 packets)")
    figures = []
    for variant in ("rate:1", "rate:1000"):
        at = {n: callgrind.allocations([run.tools.bench_nodebug, "hook", "--reps", 1, "--inline-consumer",
                                        "--variant", variant, "--size", 64, "--packets", n], run.lab.work)
              for n in (COUNTED, 2 * COUNTED)}
        (h1, a1, m1), (h2, a2, m2) = at[COUNTED], at[2 * COUNTED]
        extra = (h2 - h1) + (a2 - a1) + (m2 - m1)
        figures.append(Figure(
            id=f"2.allocations.{variant.replace(':', '')}", row="2",
            what=f"hot path allocations / ARC, {variant}, 64 000 vs 128 000 packets",
            measured=f"heap allocs {h1} vs {h2}; swift_retain+release calls {a1} vs {a2}; malloc calls {m1} vs {m2}",
            value=extra, unit="count",
            headline="**0 per packet**" if extra == 0 else f"**{extra} more at 2N: per-packet work allocates or retains**",
            parts={"heap_allocs": [h1, h2], "arc_calls": [a1, a2], "malloc_calls": [m1, m2]}))
    return figures
