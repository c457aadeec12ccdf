#!/usr/bin/env bash
# Installs what SpanTap needs to build, test, demo and benchmark on Debian, as root. Idempotent:
# a second run installs nothing and says so.
set -euo pipefail

packages=(
    pkg-config gcc python3                                   # C shims, C test fixtures, one libxdp test
    libxdp-dev libbpf-dev libmnl-dev libnl-3-dev libnl-route-3-dev liburing-dev libpcap-dev   # linked libraries (libpcap: spantapd compiles filter expressions)
    iproute2 tcpdump tmux iputils-ping netsniff-ng ethtool iperf3 xdp-tools curl valgrind   # labs, demo, benchmarks
    prometheus systemd libcap2-bin   # promtool checks /metrics; systemd-analyze checks the unit; capsh decodes capability sets
    shellcheck                       # lints scripts/ (CI)
    tshark                           # reads spantap capture files back in the tests (capinfos comes with it, in wireshark-common)
)

if [ "$(id -u)" -ne 0 ]; then
    echo "setup: run as root (installs packages, mounts bpffs)" >&2
    exit 1
fi

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "setup: all ${#packages[@]} system packages already installed"
fi

# libxdp keeps its dispatcher programs pinned in bpffs; without it, XDP attach fails.
if ! mountpoint -q /sys/fs/bpf; then
    mount -t bpf bpf /sys/fs/bpf
    echo "setup: mounted bpffs at /sys/fs/bpf"
else
    echo "setup: bpffs already mounted at /sys/fs/bpf"
fi

# Built-in or modular, what matters is that the kernel can make the devices the tests use.
[ -c /dev/net/tun ] || modprobe tun 2>/dev/null || true
[ -c /dev/net/tun ] || { echo "setup: /dev/net/tun is missing: this kernel cannot make TAP devices" >&2; exit 1; }
probe="spsetup$$"
if ip link add "$probe" type veth peer name "${probe}p" 2>/dev/null; then
    ip link del "$probe"
else
    modprobe veth 2>/dev/null && echo "setup: loaded veth" || echo "setup: warning: no veth support; lab tests will fail" >&2
fi
echo "setup: done"
