"""Row 1c: the ERSPAN sink (SinkService with a Type III session over a raw GRE socket) vs a C loop
sending the same prebuilt packets with sendmmsg in batches of 32; and what each extra output of a
fan-out costs per frame."""

import os

from figures import Figure, stat
from rows import row
from rows.sink import versus_baseline
from lab import LabError
from tools import key_values

SIZES = (64, 1500)


def collector(lab):
    """A namespace at the far end of a veth, 10.96.N.2, that receives the GRE and drops it (its
    kernel has no GRE receiver); the sender's end is 10.96.N.1. MTU 9000, so 1500-byte frames
    go out whole (else the sink cuts them to fit and the C loop's sends fail). Made once per lab."""
    if getattr(lab, "_collector", None) is None:
        octet = 20 + os.getpid() % 200
        ns = lab.namespace(lab.name("sbC"))
        end = lab.veth(lab.name("sbg"), "eth0", peer_netns=ns)
        lab.run("ip", "addr", "add", f"10.96.{octet}.1/24", "dev", end)
        lab.run("ip", "link", "set", end, "mtu", "9000", "up")
        lab.run("ip", "addr", "add", f"10.96.{octet}.2/24", "dev", "eth0", netns=ns)
        lab.run("ip", "link", "set", "eth0", "mtu", "9000", "up", netns=ns)
        lab._collector = (f"10.96.{octet}.2", f"10.96.{octet}.1")
    return lab._collector


def sent_whole(figures):
    """The C loop's fps, which only counts if every send went out."""
    if figures["send_errors"]:
        raise LabError(f"gre_send_loop: {figures['send_errors']:.0f} sends failed: its fps says nothing")
    return figures["fps"]


@row("1c", c_programs=("gre_send_loop",))
def erspan_sink(run):
    """fps of the ERSPAN sink (io_uring and write(2) sinks; both send remote frames with sendmmsg)
    vs C sendmmsg of as many prebuilt packets as the sink's ring has slots, 64 and 1500 B."""
    remote, local = collector(run.lab)
    figures = []
    for size in SIZES:
        run.say(f"row 1c: ERSPAN Type III, {size} B ({run.reps}x: C sendmmsg x32, io_uring sink, write(2) sink)")
        slots = 32768 if size == 64 else 16384
        baseline = lambda: sent_whole(key_values(run.lab.run(run.tools.gre_send_loop, remote, local, size, slots, 1, 32),
                                                 ["fps", "send_errors"], "gre_send_loop"))
        figures += versus_baseline(run, baseline, ["--remote", remote, "--local", local, "--size", size, "--slots", slots,
                                                   "--seconds", 1],
                                   id_prefix=f"1c.erspan.{size}", row="1c", what=f"ERSPAN sink, {size} B",
                                   write_label="write(2) sink", baseline=("c_sendmmsg_fps", "C sendmmsg"))
    return figures


@row("1c-fanout")
def fan_out_cost(run):
    """ns per frame each extra output of a fan-out adds: 1 vs 2 vs 4 outputs of one ERSPAN session, 64 B."""
    remote, local = collector(run.lab)
    run.say(f"row 1c: fan-out to 1, 2 and 4 outputs, 64 B ERSPAN ({run.reps}x)")
    rates = {k: [] for k in (1, 2, 4)}
    for _ in range(run.reps):
        for outputs, samples in rates.items():
            samples.append(run.bench("sink", "--remote", remote, "--local", local, "--size", 64, "--slots", 16384,
                                     "--seconds", 1, "--fan-out", outputs)["fps"])
    one, four = stat(rates[1]), stat(rates[4])
    # A record's time with 4 outputs less its time with 1, over the 3 extra copies.
    pairs = [(1e9 / f - 1e9 / o) / 3 for o, f in zip(one["samples"], four["samples"])]
    two = stat(rates[2])
    return [Figure(id="1c.fanout.extra_output_ns", row="1c", what="fan-out: each extra output, 64 B ERSPAN, per frame",
                   measured=f"1 output {one['median']:.0f} fps, 2 outputs {two['median']:.0f}, 4 outputs {four['median']:.0f} records/s",
                   value=(1e9 / four["median"] - 1e9 / one["median"]) / 3, unit="ns", samples=pairs,
                   parts={"one_output_fps": one, "two_outputs_fps": two, "four_outputs_fps": four})]
