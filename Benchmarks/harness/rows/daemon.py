"""Rows 3b and 6: the real release spantapd. 3b: forwarding between the namespace hosts with its
own AF_XDP cross-connect, sink and TAP (native and generic XDP), paced, in bursts and saturated,
mirroring on vs off; 6: its memory with 4 external C producers."""

import json
import subprocess
import threading
import time
from pathlib import Path

from figures import Figure, ratio_figure, stat
from lab import LabError
from rows import row
from tools import ROOT, key_values

CLASSES = ("idle", "batch", "normal")
FRAMES = 50_000
FAST = 200_000          # pps of the fast paced load (issue 24: every frame mirrored, tcpdump on the TAP)


class Daemon:
    """One spantapd of a row, its config file, its control socket and `spantap` against it."""

    def __init__(self, run, name, *options):
        self.run, self.lab = run, run.lab
        self.config, self.socket = self.lab.path(f"{name}.conf"), self.lab.path(f"{name}.sock")
        self.options, self.name = options, name
        self.process = None

    def start(self, config):
        self.config.write_text(config)
        self.process = self.lab.spawn(self.run.tools.spantapd, "--config", self.config, "--control-socket", self.socket,
                                      "--log-level", "warning", *self.options, name=self.name)
        self.lab.wait_for(f"{self.name}'s control socket", self.socket.exists, 10, self.process)

    def spantap(self, *args):
        return self.lab.run(self.run.tools.spantap, "--control-socket", self.socket, *args)

    def status(self):
        return json.loads(self.spantap("status", "--json"))

    def reload(self, config):
        self.config.write_text(config)
        self.spantap("reload")
        time.sleep(0.2)

    def stop(self):
        status = self.lab.stop(self.process)
        if status != 0:
            raise LabError(f"spantapd exited {status}: {self.process.errors()[-2000:]}")

    def rss_by_file(self, top=6):
        """Resident KiB per mapped file (anonymous mappings under ""), largest first: where an
        idle spantapd's RSS lives (/proc/PID/smaps)."""
        by_file, name = {}, ""
        for line in Path(f"/proc/{self.process.pid}/smaps").read_text().splitlines():
            fields = line.split()
            if fields and "-" in fields[0] and len(fields) >= 5:
                name = fields[5] if len(fields) > 5 else ""
            elif fields and fields[0] == "Rss:":
                by_file[name] = by_file.get(name, 0) + int(fields[1])
        return dict(sorted(by_file.items(), key=lambda item: -item[1])[:top])

    def rss(self, key):
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
        raise LabError(f"/proc/{self.process.pid}/status has no {key}")


def forwarder_config(xdp, mirrored, tap, fwd_a, fwd_b, scheduling):
    config = (f"set forwarding-options port-mirroring instance bench input rate 1\n"
              f"set forwarding-options port-mirroring instance bench input ingress interface {mirrored}\n"
              f"set forwarding-options port-mirroring instance bench output interface {tap}\n"
              f"set dataplane xdp-mode {xdp}\n"
              f"set dataplane cross-connect wire interface {fwd_a}\n"
              f"set dataplane cross-connect wire interface {fwd_b}\n")
    return config + ("" if scheduling == "default" else f"set sink scheduling {scheduling}\n")


def delta(before, after, received, sent, interface):
    """One run's accounting from `spantap status --json` before and after."""
    def binding(s):
        return next(b for b in s["bindings"] if b["interface"] == interface)

    def d(get):
        return get(after) - get(before)
    rx, tx = d(lambda s: binding(s)["rx_packets"]), d(lambda s: binding(s)["tx_packets"])
    kernel = lambda key: d(lambda s: binding(s)["kernel"][key])
    instance = lambda key: d(lambda s: s["instances"][0][key])
    return {"sent": sent, "received": received, "lost": sent - received, "rx": rx, "lost_before_rx": sent - rx,
            "rx_ring_full": kernel("rx_ring_full"), "rx_dropped": kernel("rx_dropped"),
            "fill_empty": kernel("rx_fill_ring_empty_descs"), "tx_drops": d(lambda s: binding(s)["tx_drops"]),
            "lost_after_tx": tx - received, "mirrored": instance("mirrored_packets"),
            "delivered": instance("delivered_packets"), "queue_full": instance("mirror_drops_queue_full"),
            "no_binding": instance("mirror_drops_no_binding"), "write_errors": instance("write_errors")}


def total(runs, key):
    return sum(r[key] for r in runs)


def losses(runs):
    return (f"{' '.join(str(r['lost']) for r in runs)} (before RX {total(runs, 'lost_before_rx')}, "
            f"tx_drops {total(runs, 'tx_drops')}, after TX {total(runs, 'lost_after_tx')})")


@row("3b", products=("spantap-bench", "spantapd", "spantap"), c_programs=("paced_sender",),
     commands=("trafgen", "tcpdump", "ethtool"))
def daemon_forwarding(run):
    """The real spantapd, native and generic XDP: paced, bursts per sink scheduling class, saturation."""
    run.say("row 3b: forwarding with the real spantapd (native, generic): paced, bursts per sink scheduling class, "
            "saturation")
    lab, hosts = run.lab, run.lab.hosts()
    quiet = lab.veth(lab.name("sbQt"), lab.name("sbQp"))
    tap = lab.name("sbM")
    lab.forget_link(tap)
    figures = []
    for xdp in ("native", "generic"):
        config = lambda mirrored, scheduling: forwarder_config(xdp, mirrored, tap, hosts.fwd_a, hosts.fwd_b, scheduling)
        daemon = Daemon(run, f"spantapd-{xdp}")
        daemon.start(config(hosts.fwd_a, "default"))
        lab.wait_for("spantapd's bindings", lambda: daemon.status()["bindings"], 10, daemon.process)
        lab.wait_for(f"spantapd's TAP {tap}", Path(f"/sys/class/net/{tap}").exists, 5, daemon.process)
        tcpdump = lab.tcpdump(tap)
        mode = daemon.status()["bindings"][0]["mode"]

        def one(kind):
            before, b0 = daemon.status(), hosts.rx_b()
            rate = {"paced": FRAMES, "fast": FAST}.get(kind)
            sender = hosts.paced(run.tools, FRAMES, rate) if rate else hosts.burst(FRAMES)
            time.sleep(0.7)
            b1 = hosts.rx_b()
            result = delta(before, daemon.status(), b1 - b0, FRAMES, hosts.fwd_a)
            run.say(f"    {xdp} {kind}: {' '.join(f'{k}={v}' for k, v in result.items())} {sender or ''}")
            if rate:
                result["sender_pps"] = key_values(sender, ["pps"], "paced_sender")["pps"]
            return result

        # (a) paced 50 kpps, live sink, every class: nothing forwarded may be lost.
        for scheduling in CLASSES:
            daemon.reload(config(hosts.fwd_a, scheduling))
            runs = run.repeat(lambda: one("paced"))
            figures.append(Figure(
                id=f"3b.{xdp}.paced.{scheduling}", row="3b",
                what=f"{mode} XDP, 50 000 frames paced at 50 kpps (paced_sender), live sink + tcpdump, "
                     f"sink scheduling {scheduling}",
                measured=f"per run lost {losses(runs)}; clones delivered {total(runs, 'delivered')} of "
                         f"{total(runs, 'mirrored')}, queue_full {total(runs, 'queue_full')}",
                value=total(runs, "lost"), unit="frames", headline=f"**{total(runs, 'lost')} lost** in {run.reps} runs",
                samples=[r["lost"] for r in runs], parts={"runs": runs}))

        # (a2) paced 200 kpps, the default class: nothing forwarded lost, at least 99 % of the clones
        # delivered (tcpdump on the TAP), at the rate the sender really kept.
        daemon.reload(config(hosts.fwd_a, "default"))
        runs = run.repeat(lambda: one("fast"))
        kept = min(r["sender_pps"] for r in runs)
        # rate 1: every frame the forwarder received is a clone to deliver (clones the full ring
        # dropped count as not delivered).
        share = total(runs, "delivered") * 100 / max(1, total(runs, "rx"))
        for id, value, unit, headline in ((f"3b.{xdp}.fast.lost", total(runs, "lost"), "frames", f"**{total(runs, 'lost')} lost**"),
                                          (f"3b.{xdp}.fast.delivered", share, "%", f"**{share:.2f} %** of clones delivered")):
            figures.append(Figure(
                id=id, row="3b", what=f"{mode} XDP, 50 000 frames paced at {FAST // 1000} kpps (sender kept >= {kept:.0f} pps), "
                                     "every frame mirrored, tcpdump on the TAP, default class",
                measured=f"per run lost {losses(runs)}; clones delivered {total(runs, 'delivered')} of {total(runs, 'rx')} "
                         f"received, queue_full {total(runs, 'queue_full')}",
                value=value, unit=unit, headline=headline, parts={"runs": runs}))

        # (b) 50 000-frame line-rate bursts, live vs off in pairs, per class.
        for scheduling in CLASSES:
            live, off = [], []
            for _ in range(run.reps):
                daemon.reload(config(hosts.fwd_a, scheduling))
                live.append(one("burst"))
                daemon.reload(config(quiet, scheduling))
                off.append(one("burst"))
            excess = (total(live, "lost") - total(off, "lost")) * 100 / (run.reps * FRAMES)
            figures.append(Figure(
                id=f"3b.{xdp}.burst.{scheduling}", row="3b",
                what=f"{mode} XDP, {run.reps} pairs of 50 000-frame line-rate bursts (trafgen -n), "
                     f"sink scheduling {scheduling}",
                measured=f"live lost {losses(live)}, off lost {' '.join(str(r['lost']) for r in off)}; clones delivered "
                         f"{total(live, 'delivered')} of {total(live, 'mirrored')}, queue_full {total(live, 'queue_full')}",
                value=excess, unit="%", headline=f"live - off: **{excess:.3f} %** of frames",
                samples=[(a["lost"] - b["lost"]) * 100 / FRAMES for a, b in zip(live, off)],
                parts={"live": live, "off": off}))

        # (c) saturation with the default class; one `spantap status` timed mid-window each time.
        live, off, answered = [], [], []
        for _ in range(run.reps):
            daemon.reload(config(hosts.fwd_a, "default"))
            timing = {}

            def ask():
                time.sleep(1.2)
                start = time.monotonic()
                daemon.status()
                timing["ms"] = (time.monotonic() - start) * 1000
            asker = threading.Thread(target=ask)
            asker.start()
            live.append(hosts.saturate(run.window))
            asker.join()
            answered.append(timing.get("ms", float("nan")))
            daemon.reload(config(quiet, "default"))
            off.append(hosts.saturate(run.window))
        live, off, answered = stat(live), stat(off), stat(answered)
        run.say(f"    {xdp} saturation (default class): live {live['samples']} off {off['samples']}")
        figures.append(ratio_figure(
            f"3b.{xdp}.saturation", "3b",
            f"{mode} XDP, saturating trafgen for {run.window:g} s, sink scheduling not set (the default)",
            f"live {live['median']:.0f} pps / off {off['median']:.0f} pps; spantap status answered in "
            f"{answered['median']:.0f} ms (median) meanwhile", ("live_pps", live), ("off_pps", off)))
        figures[-1].parts["status_ms"] = answered
        lab.stop_tcpdump(tcpdump)
        daemon.stop()
    return figures


def ring_mapping_kib(run, slots, slot_size):
    """What one ring maps, as spantap_ring.h computes it (so a header change cannot skew row 6)."""
    source = run.lab.path("mapping_size.c")
    source.write_text('#include <stdio.h>\n#include "spantap_ring.h"\n'
                      f'int main(void) {{ printf("%llu\\n", (unsigned long long)spantap_ring_mapping_size({slots}, '
                      f'{slot_size})); return 0; }}\n')
    binary = run.lab.path("mapping_size")
    subprocess.run(["gcc", "-std=c11", "-I", str(ROOT / "Sources/CSpanTapRing/include"), "-o", str(binary), str(source)],
                   check=True, capture_output=True)
    return int(run.lab.run(binary)) / 1024


@row("6", products=("spantapd",), c_programs=("spantap_producer",))
def daemon_memory(run):
    """spantapd's RSS with 4 external C producers vs the rings' memory."""
    run.say("row 6: spantapd RSS with 4 external producers (4 rings x 4096 slots x 2048 B)")
    lab = run.lab
    # The producers claim frames from this interface, so their rule (and its ifindex) exists.
    ingress = lab.veth(lab.name("sbIn"), lab.name("sbIp"))
    tap = lab.name("sbD")
    lab.forget_link(tap)
    daemon = Daemon(run, "spantapd-memory", "--ring-slots", 4096, "--ring-slot-size", 2048)
    daemon.start(f"set forwarding-options port-mirroring instance span1 input ingress interface {ingress}\n"
                 f"set forwarding-options port-mirroring instance span1 input rate 1\n"
                 f"set forwarding-options port-mirroring instance span1 output interface {tap}\n")
    time.sleep(0.5)
    idle, idle_by_file = daemon.rss("VmRSS"), daemon.rss_by_file()
    producers = [lab.spawn(run.tools.spantap_producer, "-s", daemon.socket, "-n", f"bench{n}", "-i", ingress,
                           "-c", 4096, "-l", 1500, "-w", 4, name=f"producer{n}") for n in range(1, 5)]
    time.sleep(2)
    busy, anon, shmem = daemon.rss("VmRSS"), daemon.rss("RssAnon"), daemon.rss("RssShmem")
    for producer in producers:
        producer.popen.wait(timeout=30)
        if lab.stop(producer) != 0:
            raise LabError(f"spantap_producer exited {producer.popen.returncode}: {producer.errors()[-1000:]}")
    daemon.stop()
    rings = 4 * ring_mapping_kib(run, 4096, 2048)
    value = busy / rings
    private = (anon + shmem) / rings
    return [Figure(
        id="6.rss", row="6", what="spantapd RSS, 4 producers x 4096 slots (each wrote 4096 frames of 1500 B)",
        measured=f"RSS {busy} KiB (anon {anon}, shmem {shmem}; idle {idle}) vs rings {rings:.0f} KiB",
        value=value, unit="x",
        headline=f"RSS/rings **{value:.2f}x**, above idle + rings: **{busy - idle - rings:.0f} KiB**",
        parts={"rss_kib": busy, "anon_kib": anon, "shmem_kib": shmem, "idle_kib": idle, "rings_kib": rings,
               "idle_kib_by_file": idle_by_file}),
        Figure(id="6.private", row="6",
               what="the same, memory of its own only: RssAnon + RssShmem (RSS less the shared libraries' text pages)",
               measured=f"anon {anon} + shmem {shmem} KiB vs rings {rings:.0f} KiB; idle's largest files: "
                        + ", ".join(f"{Path(f).name or 'anon'} {kib}" for f, kib in idle_by_file.items()),
               value=private, unit="x", headline=f"**{private:.2f}x**",
               parts={"anon_kib": anon, "shmem_kib": shmem, "rings_kib": rings})]
