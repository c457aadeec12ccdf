# shellcheck shell=bash
# Shared by the demo scripts (source it from the repository root): preparing a run, the namespace
# hosts of a demo lab, and removing the lab.
# The sourcing demo owns $work, $pids, $namespaces and $links; these functions read them.
# shellcheck disable=SC2154

# Root, the system packages and the release build; sets $bin to the release binaries' folder.
prepare_demo() {   # prepare_demo NAME "WHAT IT CREATES"
    [ "$(id -u)" -eq 0 ] || { echo "$1: run as root (it creates $2)" >&2; exit 1; }
    scripts/setup.sh
    echo "$1: building release binaries"
    swift build -c release
    bin=$(swift build -c release --show-bin-path)
}

# Checks $work/spantap.conf, starts spantapd on it in the background ($daemon), waits until its
# control socket answers and shows its start-up log.
start_spantapd() {
    "$bin/spantapd" --config "$work/spantap.conf" --check
    "$bin/spantapd" --config "$work/spantap.conf" --control-socket "$work/spantapd.sock" 2> "$work/spantapd.log" &
    daemon=$!
    for _ in $(seq 100); do [ -S "$work/spantapd.sock" ] && break; sleep 0.1; done
    "$bin/spantap" --control-socket "$work/spantapd.sock" status >/dev/null || { cat "$work/spantapd.log"; exit 1; }
    sed 's/^/  spantapd | /' "$work/spantapd.log"
}

# A demo that shows nothing proves nothing: CI runs the demos, so each one checks what it showed.
expect_seen() {   # expect_seen NAME WHAT COUNT MINIMUM
    if [ "${3:-0}" -lt "$4" ]; then
        echo "$1: FAILED: $2: saw ${3:-0}, expected at least $4" >&2
        sed 's/^/  spantapd | /' "$work/spantapd.log" >&2
        exit 1
    fi
    echo "$1: check: $2: $3 (at least $4)"
}

# The EXIT trap of a demo: stops the background processes in $pids, then spantapd ($daemon) with
# SIGTERM so it removes what it made, then deletes the namespaces in $namespaces, the links in
# $links and the folder $work.
remove_lab() {
    set +e
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    if [ -n "${daemon:-}" ] && kill -0 "$daemon" 2>/dev/null; then
        kill -TERM "$daemon"; wait "$daemon" 2>/dev/null
    fi
    for ns in "${namespaces[@]}"; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -9
        ip netns del "$ns" 2>/dev/null
    done
    for link in "${links[@]}"; do ip link del "$link" 2>/dev/null; done
    rm -rf "$work"
}

# A namespace that sends nothing of its own (no IPv6: no router solicitations or MLD reports), so
# a capture shows only the demo's frames.
quiet_namespace() {   # quiet_namespace NAMESPACE
    ip netns add "$1"
    ip netns exec "$1" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# A host: a quiet namespace whose eth0 is the far end of a veth; the near end is a forwarder port.
host() {   # host NAMESPACE FORWARDER-END IPV4
    quiet_namespace "$1"
    ip link add "$2" type veth peer name eth0 netns "$1"
    sysctl -q -w "net.ipv6.conf.$2.disable_ipv6=1"
    # Wire-format frames for XDP: no segmentation offload, VLAN tags in the header.
    ip netns exec "$1" ethtool -K eth0 tso off gso off tx off rxvlan off txvlan off >/dev/null
    ip -n "$1" addr add "$3/24" dev eth0
    ip -n "$1" link set lo up; ip -n "$1" link set eth0 up
    ip link set "$2" up
}
