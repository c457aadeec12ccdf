"""The lab: every namespace, link, TAP, tc qdisc and process a run creates, torn down in reverse
order when the run ends, however it ends (return, exception, Ctrl-C, SIGTERM).

Names carry the harness's pid (sbA12345, ...), so two runs never collide and nothing of the
host's own is touched: the lab only ever deletes what it created itself.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


class LabError(RuntimeError):
    """A lab step failed; the message says which command and what it printed."""


class Process:
    """A background process the lab tracks, with its stdout/stderr in files of the lab."""

    def __init__(self, popen, name, stdout, stderr):
        self.popen, self.name, self.stdout, self.stderr = popen, name, stdout, stderr

    @property
    def pid(self):
        return self.popen.pid

    def output(self):
        return self.stdout.read_text() if self.stdout else ""

    def errors(self):
        return self.stderr.read_text() if self.stderr else ""

    def events(self):
        """The JSON lines spantap-bench printed so far (other lines are an error)."""
        return parse_json_lines(self.output(), self.name)


def parse_json_lines(text, source):
    events = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise LabError(f"{source}: line {number} is not JSON ({error}): {line[:200]}") from None
    return events


def event(events, kind, source):
    """The one event of `kind` (`ready`, `result`, `latency`) in `events`; its absence is an error."""
    found = [e for e in events if e.get("event") == kind]
    if len(found) != 1:
        raise LabError(f"{source}: expected one '{kind}' line, found {len(found)} in {events}")
    return found[0]


class Lab:
    def __init__(self, verbose=True):
        self.tag = str(os.getpid())
        self.work = Path(tempfile.mkdtemp(prefix="spantap-bench."))
        self.verbose = verbose
        self._undo = []          # (description, callable), undone last first
        self._processes = []     # running
        self._started = []       # every process started, in order
        self._hosts = None
        self._previous_sigterm = None

    # -- lifetime ------------------------------------------------------------------------------

    def __enter__(self):
        def terminated(signum, _frame):
            raise SystemExit(128 + signum)
        self._previous_sigterm = signal.signal(signal.SIGTERM, terminated)
        return self

    def __exit__(self, *_):
        self.teardown()
        signal.signal(signal.SIGTERM, self._previous_sigterm or signal.SIG_DFL)
        return False

    def teardown(self):
        # A second Ctrl-C during teardown must not leave half a lab behind.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for process in list(self._processes):
                self.stop(process, signal.SIGTERM, grace=0.3)
            while self._undo:
                description, undo = self._undo.pop()
                try:
                    undo()
                except Exception as error:   # keep removing the rest
                    print(f"bench: teardown: {description}: {error}", file=sys.stderr)
            shutil.rmtree(self.work, ignore_errors=True)
        finally:
            signal.signal(signal.SIGINT, previous)

    def on_teardown(self, description, undo):
        self._undo.append((description, undo))

    def name(self, prefix):
        """A device or namespace name unique to this run (at most 15 characters)."""
        name = f"{prefix}{self.tag}"
        assert len(name) <= 15, name
        return name

    def path(self, name):
        return self.work / name

    # -- commands ------------------------------------------------------------------------------

    def say(self, message):
        if self.verbose:
            print(f"bench: {message}", file=sys.stderr, flush=True)

    def run(self, *argv, netns=None, check=True, timeout=120):
        """Runs a command to completion; returns its stdout. A failure raises with its stderr."""
        argv = [str(a) for a in argv]
        if netns:
            argv = ["ip", "netns", "exec", netns] + argv
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise LabError(f"`{' '.join(argv)}` exited {done.returncode}: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def succeeds(self, *argv, netns=None):
        """Runs a command that may fail (a probe); whether it exited 0."""
        try:
            self.run(*argv, netns=netns)
            return True
        except LabError:
            return False

    def spawn(self, *argv, netns=None, name=None):
        """Starts a background process the lab stops at teardown (or earlier with stop())."""
        argv = [str(a) for a in argv]
        if netns:
            argv = ["ip", "netns", "exec", netns] + argv
        name = name or Path(argv[0] if not netns else argv[4]).name
        index = len(list(self.work.glob(f"{name}-*.out")))
        stdout, stderr = self.path(f"{name}-{index}.out"), self.path(f"{name}-{index}.err")
        with open(stdout, "w") as out, open(stderr, "w") as err:
            popen = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        process = Process(popen, name, stdout, stderr)
        self._processes.append(process)
        self._started.append(process)
        return process

    def stop(self, process, sig=signal.SIGTERM, grace=5.0):
        """Signals a process, waits up to `grace` s, then kills it; returns its exit status."""
        if process.popen.poll() is None:
            try:
                process.popen.send_signal(sig)
                process.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait()
            except ProcessLookupError:
                pass
        if process in self._processes:
            self._processes.remove(process)
        return process.popen.returncode

    def processes_started(self):
        return len(self._started)

    def stop_started_since(self, mark):
        """Stops what a failed row left running (its devices go at teardown)."""
        for process in self._started[mark:]:
            self.stop(process, signal.SIGKILL, grace=1)

    def wait_for(self, what, predicate, seconds, process=None):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if predicate():
                    return
            except LabError:   # e.g. a control socket not answering yet
                pass
            if process is not None and process.popen.poll() is not None:
                raise LabError(f"{process.name} exited {process.popen.returncode} while waiting for {what}: "
                               f"{process.errors().strip()[-2000:]}")
            time.sleep(0.05)
        detail = f": {process.errors().strip()[-2000:]}" if process else ""
        raise LabError(f"timed out after {seconds} s waiting for {what}{detail}")

    def wait_ready(self, process, seconds=20):
        """Waits for spantap-bench's `{"event": "ready"}` line; returns it."""
        self.wait_for(f"{process.name} to be ready", lambda: any(e.get("event") == "ready" for e in process.events()),
                      seconds, process)
        return event(process.events(), "ready", process.name)

    # -- devices -------------------------------------------------------------------------------

    def kill_namespace_processes(self, name):
        for pid in self.run("ip", "netns", "pids", name, check=False).split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass

    def namespace(self, name):
        self.run("ip", "netns", "add", name)

        def remove():
            self.kill_namespace_processes(name)
            self.run("ip", "netns", "del", name, check=False)
        self.on_teardown(f"namespace {name}", remove)
        self.run("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1",
                 netns=name)
        return name

    def veth(self, name, peer, peer_netns=None):
        argv = ["ip", "link", "add", name, "type", "veth", "peer", "name", peer]
        if peer_netns:
            argv += ["netns", peer_netns]
        self.run(*argv)
        self.on_teardown(f"link {name}", lambda: self.run("ip", "link", "del", name, check=False))
        self.run("sysctl", "-q", "-w", f"net.ipv6.conf.{name}.disable_ipv6=1")
        return name

    def persistent_tap(self, name, multi_queue=False):
        mode = ["mode", "tap"] + (["multi_queue"] if multi_queue else [])
        self.run("ip", "tuntap", "add", "dev", name, *mode)
        self.on_teardown(f"tap {name}", lambda: self.run("ip", "tuntap", "del", "dev", name, *mode, check=False))
        self.run("sysctl", "-q", "-w", f"net.ipv6.conf.{name}.disable_ipv6=1")
        self.run("ip", "link", "set", name, "mtu", "2000", "arp", "off", "up")
        return name

    def forget_link(self, name):
        """For devices a process creates and removes itself (spantapd's TAP): deleted at teardown
        only if still there."""
        self.on_teardown(f"link {name}", lambda: self.run("ip", "link", "del", name, check=False))

    def hosts(self):
        """Hosts A and B (namespaces, each eth0 the far end of a veth whose near end is a forwarder
        port here), offloads off so frames are in wire format. Made once, shared by rows 3-5."""
        if self._hosts is None:
            ends = {}
            for side in "AB":
                ns = self.namespace(self.name(f"sb{side}"))
                end = self.veth(self.name(f"sbf{side.lower()}"), "eth0", peer_netns=ns)
                self.run("ethtool", "-K", "eth0", "tso", "off", "gso", "off", "tx", "off", "rxvlan", "off", "txvlan", "off",
                         netns=ns)
                self.run("ip", "link", "set", "lo", "up", netns=ns)
                self.run("ip", "link", "set", "eth0", "up", netns=ns)
                self.run("ip", "link", "set", end, "up")
                ends[side] = (ns, end)
            mac_b = self.run("cat", "/sys/class/net/eth0/address", netns=ends["B"][0]).strip()
            self._hosts = Hosts(self, ends["A"], ends["B"], mac_b)
        return self._hosts

    # -- tcpdump -------------------------------------------------------------------------------

    def tcpdump(self, device, output="/dev/null", *extra):
        process = self.spawn("tcpdump", "-i", device, "-w", output, "-B", "16384", *extra, name=f"tcpdump-{device}")
        self.wait_for(f"tcpdump on {device}", lambda: "listening on" in process.errors(), 10, process)
        return process

    def stop_tcpdump(self, tcpdump):
        """Stops tcpdump as a user would (SIGINT: it prints its counts); frames it captured."""
        self.stop(tcpdump, signal.SIGINT)
        return self.captured(tcpdump)

    @staticmethod
    def captured(tcpdump):
        for line in tcpdump.errors().splitlines():
            if line.endswith("packets captured") or " packets captured" in line:
                return int(line.split()[0])
        raise LabError(f"tcpdump printed no 'packets captured': {tcpdump.errors()[-500:]}")


class Hosts:
    """The two namespace hosts of rows 3-5 and the saturating load between them."""

    def __init__(self, lab, a, b, mac_b):
        self.lab = lab
        self.ns_a, self.fwd_a = a
        self.ns_b, self.fwd_b = b
        self.mac_b = mac_b
        # 64-byte frames to host B's MAC, EtherType 0x88b5 (B's stack counts and drops them: no
        # replies), 8 random bytes per frame (so captures can be matched to ring records).
        mac = ",".join(f"0x{octet}" for octet in mac_b.split(":"))
        self.frame = lab.path("frame64.trafgen")
        self.frame.write_text(f"{{ {mac}, 0x02,0x00,0x5e,0x10,0x00,0x01, 0x88,0xb5, drnd(8), fill(0xa5, 42) }}\n")

    def rx_b(self):
        return int(self.lab.run("cat", "/sys/class/net/eth0/statistics/rx_packets", netns=self.ns_b))

    def trafgen_argv(self, *extra):
        return ["trafgen", "--dev", "eth0", "--in", self.frame, "-P", "1", "-Q", "-C", *extra]

    def burst(self, frames):
        """`frames` frames from A at line rate (trafgen -n), to completion."""
        self.lab.run(*self.trafgen_argv("-n", frames), netns=self.ns_a, timeout=60)

    def saturate(self, window):
        """trafgen unthrottled from A; host B's receive rate (pps) over `window` s, from 0.7 s in."""
        trafgen = self.lab.spawn(*self.trafgen_argv(), netns=self.ns_a, name="trafgen")
        time.sleep(0.7)
        r1, t1 = self.rx_b(), time.monotonic()
        time.sleep(window)
        r2, t2 = self.rx_b(), time.monotonic()
        # trafgen sends from a child process per CPU and ignores SIGINT/SIGTERM here: stop every
        # process in host A's namespace (trafgen is the only one) with SIGKILL.
        self.lab.kill_namespace_processes(self.ns_a)
        self.lab.stop(trafgen, signal.SIGKILL)
        time.sleep(0.3)
        return (r2 - r1) / (t2 - t1)

    def paced(self, tools, frames, rate):
        """`frames` frames from A paced at `rate` pps (Benchmarks/paced_sender.c); its summary."""
        return self.lab.run(tools.paced_sender, "eth0", self.mac_b, frames, rate, netns=self.ns_a, timeout=120).strip()
