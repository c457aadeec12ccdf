"""Rows 3-5 on the two namespace hosts: SpanTap's cross-connect in process (spantap-bench
forward, generic XDP) under mirror pressure, the kernel's own tc mirror at the same load, and
delivery and latency of paced mirrored frames."""

import signal
import time

from figures import Figure, ratio_figure, stat
from lab import LabError, event
from rows import row


def forward(run, mode, *extra):
    """spantap-bench forward between the hosts' forwarder ends, mirroring A into a TAP it makes."""
    hosts, lab = run.lab.hosts(), run.lab
    tap = lab.name("sbM")
    lab.forget_link(tap)
    process = lab.spawn(run.tools.bench, "forward", "--a", hosts.fwd_a, "--b", hosts.fwd_b, "--mirror", mode,
                        "--tap", tap, *extra, name=f"forward-{mode}")
    lab.wait_ready(process)
    return process, tap


def finish(run, process):
    """Stops a forward run; its result line (and latency line, if it matched a capture)."""
    status = run.lab.stop(process, signal.SIGTERM, grace=30)
    if status != 0:
        raise LabError(f"spantap-bench forward exited {status}: {process.errors()[-2000:]}")
    return process.events()


@row("3", c_programs=(), commands=("trafgen", "tcpdump", "ethtool"))
def mirror_pressure(run):
    """Forwarded pps, generic XDP in process: mirroring off vs rate 1 live sink vs stalled sink."""
    run.say("row 3: forwarding (generic XDP) with mirroring off / rate 1 live sink / rate 1 stalled sink")
    hosts = run.lab.hosts()
    pps, last = {}, {}
    for mode in ("off", "live", "stalled"):
        samples = []
        for _ in range(run.reps):
            process, tap = forward(run, mode)
            tcpdump = run.lab.tcpdump(tap) if mode == "live" else None
            rate = hosts.saturate(run.window)
            captured = run.lab.stop_tcpdump(tcpdump) if tcpdump else None
            result = event(finish(run, process), "result", "spantap-bench forward")
            run.say(f"    {mode}: pps={rate:.0f} captured={captured} rx={result['a_rx']} mirrored={result['mirrored']}"
                    f" queue_full={result['drops_queue_full']} tx_drops={result['a_to_b_tx_drops']}")
            samples.append(rate)
            last[mode] = (captured, result)
        pps[mode] = stat(samples)
    captured, result = last["live"]
    return [
        Figure(id="3.off", row="3", what="forwarded, mirroring off (trafgen 64 B, saturating, 1 core)",
               measured=f"{pps['off']['median']:.0f} pps", value=pps["off"]["median"], unit="pps", headline="baseline",
               parts={"off_pps": pps["off"]}),
        ratio_figure("3.live", "3", "forwarded, rate 1, live sink + tcpdump on the TAP",
                     f"{pps['live']['median']:.0f} pps (last run: tcpdump captured {captured}/{result['a_rx']} "
                     "frames received)", ("live_pps", pps["live"]), ("off_pps", pps["off"])),
        ratio_figure("3.stalled", "3", "forwarded, rate 1, stalled sink (ring full)",
                     f"{pps['stalled']['median']:.0f} pps", ("stalled_pps", pps["stalled"]), ("off_pps", pps["off"])),
    ]


@row("4", commands=("trafgen", "tcpdump", "tc", "ethtool"))
def kernel_mirror(run):
    """The kernel's tc mirred mirror + redirect at the same load (vs spantapd generic live of row 3b)."""
    run.say("row 4: tc mirred (mirror to a TAP + redirect to the peer) at the same load")
    lab, hosts = run.lab, run.lab.hosts()
    tap = lab.name("sbK")
    lab.forget_link(tap)
    holder = lab.spawn(run.tools.bench, "hold-tap", "--tap", tap, name="hold-tap")
    lab.wait_ready(holder)
    lab.run("tc", "qdisc", "add", "dev", hosts.fwd_a, "clsact")
    lab.on_teardown(f"clsact on {hosts.fwd_a}",
                    lambda: lab.run("tc", "qdisc", "del", "dev", hosts.fwd_a, "clsact", check=False))
    actions = ["action", "mirred", "egress", "mirror", "dev", tap, "pipe",
               "action", "mirred", "egress", "redirect", "dev", hosts.fwd_b]
    # matchall as in the issue; kernels without cls_matchall get u32's match-everything.
    classifier = "matchall"
    if not lab.succeeds("tc", "filter", "add", "dev", hosts.fwd_a, "ingress", "matchall", *actions):
        classifier = "u32 match u32 0 0"
        lab.run("tc", "filter", "add", "dev", hosts.fwd_a, "ingress", "protocol", "all", "u32", "match", "u32", "0", "0",
                *actions)
    samples, last = [], ""
    for _ in range(run.reps):
        tcpdump = lab.tcpdump(tap)
        b0 = hosts.rx_b()
        samples.append(hosts.saturate(run.window))
        b1 = hosts.rx_b()
        last = f"{lab.stop_tcpdump(tcpdump)}/{b1 - b0}"
    lab.run("tc", "qdisc", "del", "dev", hosts.fwd_a, "clsact")
    lab.stop(holder)
    kernel = stat(samples)
    spantapd = run.figures.get("3b.generic.saturation")
    value = spantapd.parts["live_pps"]["median"] / kernel["median"] if spantapd else None
    return [Figure(
        id="4.kernel", row="4",
        what=f"kernel: tc ({classifier}) redirect A->B + mirred mirror to a TAP with tcpdump, same trafgen load",
        measured=f"{kernel['median']:.0f} pps forwarded (last run: tcpdump captured {last} frames forwarded)",
        value=value, unit="x",
        headline=f"spantapd generic live / kernel: **{value:.2f}x**" if value else "needs row 3b in the same run",
        parts={"kernel_pps": kernel, "spantapd_generic_live_pps": spantapd.parts["live_pps"] if spantapd else None})]


@row("5", c_programs=("paced_sender",), commands=("tcpdump",))
def delivery_latency(run):
    """Clones delivered and enqueue-to-TAP latency of 20 000 frames paced at 20 kpps."""
    run.say("row 5: delivery share and enqueue-to-TAP latency at 20 kpps (paced)")
    lab, hosts = run.lab, run.lab.hosts()
    pcap = lab.path("mirror.pcap")
    process, tap = forward(run, "live", "--slots", 32768, "--pcap", pcap)
    tcpdump = lab.tcpdump(tap, pcap, "--time-stamp-precision=nano")
    hosts.paced(run.tools, 20000, 20000)
    # libpcap hands tcpdump a TPACKET_V3 block once it is full or its 1 s timeout expires; stopping
    # sooner loses the last, partly filled block (about 1 000 frames at this rate) from the file.
    time.sleep(1.5)
    lab.stop_tcpdump(tcpdump)
    events = finish(run, process)
    result, latency = event(events, "result", "spantap-bench forward"), event(events, "latency", "spantap-bench forward")
    return [
        Figure(id="5.delivery", row="5",
               what="delivery: 20 000 frames (64 B) paced at 20 kpps (paced_sender), rate 1, tcpdump -w on the TAP",
               measured=f"sink delivered {result['delivered']} of {latency['mirrored']} mirrored; tcpdump captured "
                        f"{latency['captured']} ({latency['matched']} matched byte for byte in ring order)",
               value=latency["captured_share"], unit="%", headline=f"**{latency['captured_share']:.1f}%**",
               parts={"result": result, "latency": latency}),
        Figure(id="5.latency", row="5",
               what="enqueue-to-TAP latency (record timestamp -> skb timestamp in the TAP write)",
               measured=f"p50 {latency['p50_us']:.1f} us, p99 {latency['p99_us']:.1f} us, max {latency['max_us']:.1f} us",
               value=latency["p99_us"], unit="us", headline=f"p99 **{latency['p99_us']:.1f} us**",
               parts={"latency": latency}),
    ]
