#!/usr/bin/env bash
# SpanTap benchmarks (issue 5): one command, one table, every row a ratio or a count measured in
# this run on this machine. See docs/BENCHMARKS.md for what each row measures and the last result.
#
#   sudo scripts/bench.sh                 # about 4-5 minutes on 2 cores, plus the build
#
# Environment: BENCH_REPS (default 3) repetitions per measurement, medians reported;
# BENCH_SCRATCH (default .build) the SwiftPM scratch path; BENCH_SECONDS (default 2) window of
# the forwarding rows; BENCH_ROWS (default all) which rows to run, e.g. "2 3b". Everything it
# creates (namespaces sbA*/sbB*, veths, TAPs, processes) is removed on exit, Ctrl-C or failure.
# Traffic only ever flows between the namespaces it made.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "bench: run as root (namespaces, veths, TAPs, XDP)" >&2; exit 1; }
for tool in trafgen tcpdump valgrind gcc ip tc ethtool; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (scripts/setup.sh installs it)" >&2; exit 1; }
done

reps=${BENCH_REPS:-3}
scratch=${BENCH_SCRATCH:-.build}
window=${BENCH_SECONDS:-2}
started=$(date +%s)

echo "bench: building release (spantap-bench, spantapd)" >&2
swift build -c release --scratch-path "$scratch" --product spantap-bench >&2
swift build -c release --scratch-path "$scratch" --product spantapd >&2
bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)
work=$(mktemp -d /tmp/spantap-bench.XXXXXX)
gcc -O2 -Wall -o "$work/tap_write_loop" Benchmarks/tap_write_loop.c
gcc -std=c11 -O2 -I Sources/CSpanTapRing/include -o "$work/spantap_producer" Examples/c-producer/spantap_producer.c
gcc -std=c11 -O2 -I Sources/CSpanTapRing/include -o "$work/c_producer_bench" Benchmarks/c_producer_bench.c
gcc -O2 -Wall -o "$work/paced_sender" Benchmarks/paced_sender.c
cargo build --offline --release --manifest-path rust/spantap-producer/Cargo.toml --bin spantap-rust-producer-bench >&2
rust_producer_bench=rust/spantap-producer/target/release/spantap-rust-producer-bench
# valgrind 3.19 cannot read the DWARF 5 that swiftc emits: measure a copy without debug info.
strip --strip-debug -o "$work/spantap-bench-nodebug" "$bin/spantap-bench"
bench="$bin/spantap-bench"

id=$$
tap1="sbT$id"                       # row 1: a persistent TAP both sinks attach to
tapq="sbQ$id"                       # row 1b: a persistent multi-queue TAP
hostA="sbA$id" hostB="sbB$id"       # rows 3-5: the two hosts' namespaces
fwdA="sbfa$id" fwdB="sbfb$id"       # the forwarder's ends (this namespace)
mtap="sbM$id" ktap="sbK$id"         # SpanTap's mirror TAP, the kernel mirror's TAP
dtap="sbD$id"                       # row 6: spantapd's output TAP
pids=()

cleanup() {
    set +e
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    sleep 0.3
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    for ns in "$hostA" "$hostB"; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -9
        ip netns del "$ns" 2>/dev/null
    done
    tc qdisc del dev "$fwdA" clsact 2>/dev/null
    for dev in "$fwdA" "$fwdB" "$mtap" "$ktap" "$dtap" "sbIn$id" "sbQt$id"; do ip link del "$dev" 2>/dev/null; done
    ip tuntap del dev "$tap1" mode tap 2>/dev/null
    ip tuntap del dev "$tapq" mode tap multi_queue 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- helpers --------------------------------------------------------------------------------
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END{if(NR==0){print "nan"} else if(NR%2){print a[(NR+1)/2]} else {print (a[NR/2]+a[NR/2+1])/2}}'; }
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" | head -1; }   # field KEY < line
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b+0 == 0) print "nan"; else printf "%.2f", a/b }'; }
now() { date +%s.%N; }
untrack() { local keep=(); for p in "${pids[@]}"; do [ "$p" != "$1" ] && keep+=("$p"); done; pids=("${keep[@]}"); }
stop() { kill -"${2:-TERM}" "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; untrack "$1"; }
wait_for() {   # wait_for FILE PATTERN SECONDS
    local i
    for ((i = 0; i < $3 * 20; i++)); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
    echo "bench: timed out waiting for '$2' in $1:" >&2; cat "$1" >&2; return 1
}
start_tcpdump() {   # start_tcpdump IF OUTFILE [extra args]; sets $tcpdump_pid
    local dev=$1 out=$2; shift 2
    tcpdump -i "$dev" -w "$out" -B 16384 "$@" 2> "$work/tcpdump-$dev.txt" &
    tcpdump_pid=$!; pids+=("$tcpdump_pid")
    wait_for "$work/tcpdump-$dev.txt" "listening on" 10
}
captured_by_tcpdump() { sed -n 's/^\([0-9]*\) packets captured.*/\1/p' "$work/tcpdump-$1.txt"; }
rows=()
declare -A pps
# BENCH_ROWS="1 3b" runs only those rows (1 includes 1b; the lab rows 3-5 share one set-up).
want() { [ -z "${BENCH_ROWS:-}" ] || [[ " $BENCH_ROWS " == *" $1 "* ]]; }
row() { rows+=("$1"); echo "  $1" >&2; }

# ---- row 1: sink throughput -----------------------------------------------------------------
if want 1; then
echo "bench: row 1: SinkService (io_uring, write(2)) vs a C write(2) loop into a TAP (${reps}x, medians)" >&2
ip tuntap add dev "$tap1" mode tap
ip tuntap add dev "$tapq" mode tap multi_queue
for dev in "$tap1" "$tapq"; do
    sysctl -q -w "net.ipv6.conf.$dev.disable_ipv6=1"
    ip link set "$dev" mtu 2000 arp off up
done
for size in 64 512 1500; do
    case $size in 64) slots=65536 stride=128 ;; 512) slots=32768 stride=576 ;; 1500) slots=16384 stride=1536 ;; esac
    for reader in none tcpdump; do
        [ "$reader" = tcpdump ] && start_tcpdump "$tap1" /dev/null
        c=() u=() w=()
        for ((r = 0; r < reps; r++)); do
            c+=("$("$work/tap_write_loop" "$tap1" "$size" "$slots" "$stride" 1 | field fps)")
            u+=("$("$bench" sink --tap "$tap1" --size "$size" --slots "$slots" --seconds 1 --io-uring on | field fps)")
            w+=("$("$bench" sink --tap "$tap1" --size "$size" --slots "$slots" --seconds 1 --io-uring off | field fps)")
        done
        [ "$reader" = tcpdump ] && stop "$tcpdump_pid" INT
        cm=$(echo "${c[*]}" | median) um=$(echo "${u[*]}" | median) wm=$(echo "${w[*]}" | median)
        row "| 1 | sink throughput, ${size} B, reader: ${reader}, io_uring | SinkService $(printf %.0f "$um") fps / C write(2) $(printf %.0f "$cm") fps | **$(ratio "$um" "$cm")x** | >= 1.2x |"
        row "| 1 | sink throughput, ${size} B, reader: ${reader}, write(2) fallback | SinkService $(printf %.0f "$wm") fps / C write(2) $(printf %.0f "$cm") fps | **$(ratio "$wm" "$cm")x** | >= 0.9x |"
    done
done
# Two rings either way, so the only difference is a second worker writing to its own queue.
echo "bench: row 1b: 2 queues with 2 sink workers vs 1 worker, 64 B, no reader (${reps}x, medians)" >&2
for method in on off; do
    one=() two=()
    for ((r = 0; r < reps; r++)); do
        one+=("$("$bench" sink --tap "$tapq" --size 64 --slots 32768 --seconds 1 --queues 2 --workers 1 --rings 2 --io-uring "$method" | field fps)")
        two+=("$("$bench" sink --tap "$tapq" --size 64 --slots 32768 --seconds 1 --queues 2 --workers 2 --rings 2 --io-uring "$method" | field fps)")
    done
    om=$(echo "${one[*]}" | median) tm=$(echo "${two[*]}" | median)
    label=$([ "$method" = on ] && echo io_uring || echo "write(2)")
    row "| 1b | multi-queue TAP, 64 B, reader: none, 2 rings, $label | 2 queues + 2 workers $(printf %.0f "$tm") fps / 1 worker $(printf %.0f "$om") fps | **$(ratio "$tm" "$om")x** | >= 1.5x |"
done
fi

# ---- row 2: fast-path cost per packet -------------------------------------------------------
if want 2; then
echo "bench: row 2: mirror hook cost in the shipped forwarding loop (in process, rings in memory, prepared frames)" >&2
hook() { "$bench" hook --reps 5 "$@"; }
base64=$(hook --variant none --size 64 --packets 16777216 | field ns_per_packet)
base1500=$(hook --variant none --size 1500 --packets 16777216 | field ns_per_packet)
unm=$(hook --variant unmirrored --size 64 --packets 16777216 | field ns_per_packet)
r1000=$(hook --variant rate:1000 --size 64 --packets 16777216 | field ns_per_packet)
r1024=$(hook --variant rate:1024 --size 64 --packets 16777216 | field ns_per_packet)
r1000l=$(hook --variant rate:1000 --limit 1000 --size 64 --packets 16777216 | field ns_per_packet)
m64line=$(hook --variant rate:1 --size 64 --packets 8388608 --consumer batch)
m1500line=$(hook --variant rate:1 --size 1500 --packets 8388608 --consumer batch)
s64line=$(hook --variant rate:1 --size 64 --packets 8388608 --consumer spin)
i64line=$(hook --variant rate:1 --size 64 --packets 8388608 --inline-consumer)
i1500line=$(hook --variant rate:1 --size 1500 --packets 8388608 --inline-consumer)
i64=$(echo "$i64line" | field ns_per_packet) i1500=$(echo "$i1500line" | field ns_per_packet)
m64=$(echo "$m64line" | field ns_per_packet) m1500=$(echo "$m1500line" | field ns_per_packet)
s64=$(echo "$s64line" | field ns_per_packet)
add() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a-b}'; }
row "| 2 | forwarding loop only, ForwardingLoop.pass + emulated kernel (64 B / 1500 B) | $base64 / $base1500 ns/packet | baseline | |"
row "| 2 | + hook, interface not mirrored | $unm ns/packet | **+$(add "$unm" "$base64") ns** | <= 2 ns |"
row "| 2 | + hook, rate 1000 (not sampled 999/1000; down-counter, no division) | $r1000 ns/packet | **+$(add "$r1000" "$base64") ns** | <= 1 ns |"
row "| 2 | + hook, rate 1024 (the same down-counter) | $r1024 ns/packet | **+$(add "$r1024" "$base64") ns** | <= 1 ns |"
row "| 2 | + hook, rate 1000 and max-packets-per-second 1000 (token bucket refilled per batch) | $r1000l ns/packet | limiter: **+$(add "$r1000l" "$r1000") ns** over rate 1000 | <= 1 ns |"
row "| 2 | + hook, rate 1, 64 B, consumer thread (batching) | $m64 ns/packet, enqueued share $(echo "$m64line" | field enqueued_share) | **+$(add "$m64" "$base64") ns** | <= 40 ns |"
row "| 2 | + hook, rate 1, 1500 B, consumer thread (batching) | $m1500 ns/packet, enqueued share $(echo "$m1500line" | field enqueued_share) | **+$(add "$m1500" "$base1500") ns** | |"
row "| 2 | + hook, rate 1, 64 B / 1500 B, ring drained on the same core after each batch (drain cost included) | $i64 / $i1500 ns/packet | **+$(add "$i64" "$base64") / +$(add "$i1500" "$base1500") ns** | <= 40 ns (64 B) |"
row "| 2 | + hook, rate 1, 64 B, consumer thread spinning on the producer index | $s64 ns/packet, enqueued share $(echo "$s64line" | field enqueued_share) | **+$(add "$s64" "$base64") ns** | (worst case) |"

echo "bench: row 2: allocation / ARC proof under valgrind (N and 2N packets)" >&2
vg="$work/spantap-bench-nodebug"
heap() { valgrind --tool=memcheck "$vg" hook --reps 1 --inline-consumer "$@" 2>&1 | sed -n 's/.*total heap usage: \([0-9,]*\) allocs.*/\1/p' | tr -d ,; }
calls() {   # retain+release calls and malloc calls, from a callgrind profile
    valgrind --tool=callgrind --compress-strings=no --compress-pos=no --callgrind-out-file="$work/cg.out" \
        "$vg" hook --reps 1 --inline-consumer "$@" >/dev/null 2>&1
    awk '/^cfn=/{f=substr($0,5)} /^calls=/{split($0,a,/[= ]/); if (f ~ /^swift_(retain|release)/) arc+=a[2]; if (f == "malloc") m+=a[2]} END{printf "%d %d", arc, m}' "$work/cg.out"
}
# Instructions per packet in the loop (ForwardingLoop.pass, inclusive) from N vs 2N packets:
# deterministic, so a hook's cost shows even when the VM's timings swing by a nanosecond.
instructions() {
    local n counts=()
    for n in 64000 128000; do
        valgrind --tool=callgrind --callgrind-out-file="$work/ci-$n.out" "$vg" hook --reps 1 --packets "$n" "$@" >/dev/null 2>&1
        counts+=("$(callgrind_annotate --inclusive=yes "$work/ci-$n.out" | grep -m1 'ForwardingLoopV4pass' | awk '{print $1}' | tr -d ,)")
    done
    awk -v a="${counts[0]}" -v b="${counts[1]}" 'BEGIN{printf "%.1f", (b - a) / 64000}'
}
i_none=$(instructions --variant none --size 64) i_unm=$(instructions --variant unmirrored --size 64)
i_r1000=$(instructions --variant rate:1000 --size 64) i_lim=$(instructions --variant rate:1000 --limit 1000 --size 64)
row "| 2 | instructions per packet (callgrind): loop only / not mirrored / rate 1000 / rate 1000 + max-packets-per-second | $i_none / $i_unm / $i_r1000 / $i_lim | hook **+$(add "$i_unm" "$i_none") / +$(add "$i_r1000" "$i_none")**, limiter **+$(add "$i_lim" "$i_r1000")** | |"
for variant in rate:1 rate:1000; do
    h1=$(heap --variant "$variant" --size 64 --packets 64000) h2=$(heap --variant "$variant" --size 64 --packets 128000)
    read -r a1 m1 <<< "$(calls --variant "$variant" --size 64 --packets 64000)"
    read -r a2 m2 <<< "$(calls --variant "$variant" --size 64 --packets 128000)"
    verdict=$([ "$h1" = "$h2" ] && [ "$a1" = "$a2" ] && [ "$m1" = "$m2" ] && echo "**0 per packet**" || echo "**differs: per-packet work allocates or retains**")
    row "| 2 | hot path allocations / ARC, $variant, 64 000 vs 128 000 packets | heap allocs $h1 vs $h2; swift_retain+release calls $a1 vs $a2; malloc calls $m1 vs $m2 | $verdict | 0 |"
done
fi

# ---- lab for rows 3-5 -----------------------------------------------------------------------
if want 3 || want 3b || want 4 || want 5; then
host() {   # host NAMESPACE FORWARDER-END: a quiet host, offloads off (wire-format frames)
    ip netns add "$1"
    ip netns exec "$1" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip link add "$2" type veth peer name eth0 netns "$1"
    sysctl -q -w "net.ipv6.conf.$2.disable_ipv6=1"
    ip netns exec "$1" ethtool -K eth0 tso off gso off tx off rxvlan off txvlan off >/dev/null
    ip -n "$1" link set lo up; ip -n "$1" link set eth0 up
    ip link set "$2" up
}
host "$hostA" "$fwdA"
host "$hostB" "$fwdB"
macB_colon=$(ip netns exec "$hostB" cat /sys/class/net/eth0/address)
macB=$(echo "$macB_colon" | sed 's/^/0x/; s/:/,0x/g')
# 64-byte frames to host B's MAC, EtherType 0x88b5 (B's stack counts and drops them: no replies),
# 8 random bytes per frame (so captures can be matched to ring records byte for byte).
cat > "$work/frame64.trafgen" <<CFG
{ $macB, 0x02,0x00,0x5e,0x10,0x00,0x01, 0x88,0xb5, drnd(8), fill(0xa5, 42) }
CFG
rxB() { ip netns exec "$hostB" cat /sys/class/net/eth0/statistics/rx_packets; }
trafgen_A=(ip netns exec "$hostA" trafgen --dev eth0 --in "$work/frame64.trafgen" -P 1 -Q -C)
# trafgen ignores SIGINT/SIGTERM when started in the background here: stop it (the only process
# in host A's namespace) with SIGKILL.
stop_trafgen() { ip netns pids "$hostA" | xargs -r kill -KILL; { wait "$1"; } 2>/dev/null || true; untrack "$1"; }
# saturate: trafgen unthrottled from A; after 0.7 s, host B's receive rate over $window s goes to
# $work/rate (not printed: a $(...) subshell would orphan trafgen)
saturate() {
    "${trafgen_A[@]}" > /dev/null 2>&1 &
    local gpid=$!; pids+=("$gpid")
    sleep 0.7
    local r1 t1 r2 t2
    r1=$(rxB); t1=$(now); sleep "$window"; r2=$(rxB); t2=$(now)
    stop_trafgen "$gpid"; sleep 0.3
    awk -v a="$r1" -v b="$r2" -v s="$t1" -v e="$t2" 'BEGIN{printf "%.0f", (b-a)/(e-s)}' > "$work/rate"
}

# forward_run MODE: saturating trafgen from A for $window s; writes "pps captured a_rx mirrored
# queue_full tx_drops" to $work/last (not printed: a $(...) subshell would orphan its processes)
forward_run() {
    local mode=$1 out="$work/forward-$1.txt"
    "$bench" forward --a "$fwdA" --b "$fwdB" --mirror "$mode" --tap "$mtap" > "$out" 2> "$work/forward-$1.err" &
    local fpid=$!; pids+=("$fpid")
    wait_for "$out" "^ready" 20
    [ "$mode" = live ] && start_tcpdump "$mtap" /dev/null
    saturate
    local captured=n/a
    if [ "$mode" = live ]; then stop "$tcpdump_pid" INT; captured=$(captured_by_tcpdump "$mtap"); fi
    stop "$fpid" TERM
    local result; result=$(grep '^result' "$out")
    echo "$(cat "$work/rate") $captured $(echo "$result" | field a_rx) $(echo "$result" | field mirrored) $(echo "$result" | field drops_queue_full) $(echo "$result" | field a_to_b_tx_drops)" > "$work/last"
}
fi

# ---- row 3: forwarding under mirror pressure ------------------------------------------------
if want 3; then
echo "bench: row 3: forwarding (generic XDP) with mirroring off / rate 1 live sink / rate 1 stalled sink" >&2
for mode in off live stalled; do
    p=() details=""
    for ((r = 0; r < reps; r++)); do
        forward_run "$mode"
        read -r rate captured arx mirrored qfull txdrops < "$work/last"
        p+=("$rate"); details="$details ${mode}[pps=$rate captured=$captured rx=$arx mirrored=$mirrored queue_full=$qfull tx_drops=$txdrops]"
    done
    pps[$mode]=$(echo "${p[*]}" | median)
    echo "    $details" >&2
    if [ "$mode" = live ]; then live_capture="$captured/$arx"; fi
done
row "| 3 | forwarded, mirroring off (trafgen 64 B, saturating, 1 core) | $(printf %.0f "${pps[off]}") pps | baseline | |"
row "| 3 | forwarded, rate 1, live sink + tcpdump on the TAP | $(printf %.0f "${pps[live]}") pps (last run: tcpdump captured $live_capture frames received) | **$(ratio "${pps[live]}" "${pps[off]}")x** | |"
row "| 3 | forwarded, rate 1, stalled sink (ring full) | $(printf %.0f "${pps[stalled]}") pps | **$(ratio "${pps[stalled]}" "${pps[off]}")x** | >= 0.95x |"
fi

# ---- row 3b: forwarding wins on a shared host: the real spantapd ----------------------------
if want 3b; then
# spantapd itself (its AF_XDP cross-connect, sink and TAP), native and generic XDP, tcpdump on the
# mirror TAP. "Off" = the instance mirrors a quiet veth instead of the forwarder's A side (a
# reload), so the TAP and tcpdump stay; every run reads the counters before and after from
# `spantap status --json`. Paced load comes from Benchmarks/paced_sender.c (groups of 5 frames on
# absolute 100 us deadlines); bursts and saturation from trafgen (line rate).
echo "bench: row 3b: forwarding with the real spantapd (native, generic): paced, bursts per sink scheduling class, saturation" >&2
ip link add "sbQt$id" type veth peer name "sbQp$id"
quiet="sbQt$id"
spantap=("$bin/spantap" --control-socket "$work/fw.sock")
fw_conf() {   # fw_conf XDP-MODE MIRRORED-INTERFACE SCHEDULING
    cat > "$work/fw.conf" <<CFG
set forwarding-options port-mirroring instance bench input rate 1
set forwarding-options port-mirroring instance bench input ingress interface $2
set forwarding-options port-mirroring instance bench output interface $mtap
set dataplane xdp-mode $1
set dataplane cross-connect wire interface $fwdA
set dataplane cross-connect wire interface $fwdB
CFG
    [ "$3" = default ] || echo "set sink scheduling $3" >> "$work/fw.conf"
}
fw_reload() { fw_conf "$@"; "${spantap[@]}" reload > /dev/null; sleep 0.2; }
# fw_delta BEFORE AFTER B-RECEIVED SENT: one run's accounting, as key=value pairs
fw_delta() {
    python3 - "$1" "$2" "$3" "$4" "$fwdA" <<'PY'
import json, sys
before, after = (json.load(open(path)) for path in sys.argv[1:3])
received, sent, interface = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
def binding(s): return next(b for b in s["bindings"] if b["interface"] == interface)
def d(get): return get(after) - get(before)
k = lambda key: (lambda s: binding(s)["kernel"][key])
b = lambda key: (lambda s: binding(s)[key])
i = lambda key: (lambda s: s["instances"][0][key])
rx, tx = d(b("rx_packets")), d(b("tx_packets"))
print(f"sent={sent} received={received} lost={sent - received} rx={rx} "
      f"lost_before_rx={sent - rx} rx_ring_full={d(k('rx_ring_full'))} rx_dropped={d(k('rx_dropped'))} "
      f"fill_empty={d(k('rx_fill_ring_empty_descs'))} tx_drops={d(b('tx_drops'))} lost_after_tx={tx - received} "
      f"mirrored={d(i('mirrored_packets'))} delivered={d(i('delivered_packets'))} queue_full={d(i('mirror_drops_queue_full'))} "
      f"no_binding={d(i('mirror_drops_no_binding'))} write_errors={d(i('write_errors'))}")
PY
}
# fw_run KIND: one run of KIND (paced | burst); prints its fw_delta line
fw_run() {
    "${spantap[@]}" status --json > "$work/s0.json"
    local b0; b0=$(rxB)
    case $1 in
        paced) ip netns exec "$hostA" "$work/paced_sender" eth0 "$macB_colon" 50000 50000 > "$work/sender.txt" ;;
        burst) "${trafgen_A[@]}" -n 50000 > /dev/null 2>&1 ;;
    esac
    sleep 0.7
    local b1; b1=$(rxB)
    "${spantap[@]}" status --json > "$work/s1.json"
    fw_delta "$work/s0.json" "$work/s1.json" "$((b1 - b0))" 50000
}
sum_field() { local key=$1; shift; local total=0 v; for line in "$@"; do v=$(echo " $line" | field "$key"); total=$((total + v)); done; echo "$total"; }
classes=(idle batch normal)
for xdp in native generic; do
    fw_conf "$xdp" "$fwdA" default
    "$bin/spantapd" --config "$work/fw.conf" --control-socket "$work/fw.sock" --log-level warning 2> "$work/fw-$xdp.log" &
    daemon=$!; pids+=("$daemon")
    for _ in $(seq 100); do
        "${spantap[@]}" status --json 2>/dev/null | python3 -c 'import json, sys; sys.exit(not json.load(sys.stdin)["bindings"])' 2>/dev/null && break
        sleep 0.1
    done
    for _ in $(seq 50); do [ -e "/sys/class/net/$mtap" ] && break; sleep 0.1; done
    start_tcpdump "$mtap" /dev/null
    mode_seen=$("${spantap[@]}" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["bindings"][0]["mode"])')

    # (a) paced 50 kpps, live sink, every class: nothing forwarded may be lost.
    for class in "${classes[@]}"; do
        fw_reload "$xdp" "$fwdA" "$class"
        lines=()
        for ((r = 0; r < reps; r++)); do lines+=("$(fw_run paced)"); echo "    $xdp paced $class: ${lines[-1]} $(cat "$work/sender.txt")" >&2; done
        row "| 3b | $mode_seen XDP, 50 000 frames paced at 50 kpps (paced_sender), live sink + tcpdump, sink scheduling $class | per run lost $(for l in "${lines[@]}"; do echo -n "$(echo " $l" | field lost) "; done)(before RX $(sum_field lost_before_rx "${lines[@]}"), tx_drops $(sum_field tx_drops "${lines[@]}"), after TX $(sum_field lost_after_tx "${lines[@]}")); clones delivered $(sum_field delivered "${lines[@]}") of $(sum_field mirrored "${lines[@]}"), queue_full $(sum_field queue_full "${lines[@]}") | **$(sum_field lost "${lines[@]}") lost** in $reps runs | 0 |"
    done

    # (b) 50 000-frame line-rate bursts, live vs off in pairs, per scheduling class.
    for class in "${classes[@]}"; do
        live=() off=()
        for ((r = 0; r < reps; r++)); do
            fw_reload "$xdp" "$fwdA" "$class"; live+=("$(fw_run burst)")
            fw_reload "$xdp" "$quiet" "$class"; off+=("$(fw_run burst)")
            echo "    $xdp burst $class: live ${live[-1]}" >&2
            echo "    $xdp burst $class: off  ${off[-1]}" >&2
        done
        lost_live=$(sum_field lost "${live[@]}") lost_off=$(sum_field lost "${off[@]}")
        excess=$(awk -v l="$lost_live" -v o="$lost_off" -v n=$((reps * 50000)) 'BEGIN{printf "%.3f", (l - o) * 100 / n}')
        row "| 3b | $mode_seen XDP, $reps pairs of 50 000-frame line-rate bursts (trafgen -n), sink scheduling $class | live lost $(for l in "${live[@]}"; do echo -n "$(echo " $l" | field lost) "; done)(before RX $(sum_field lost_before_rx "${live[@]}"), tx_drops $(sum_field tx_drops "${live[@]}"), after TX $(sum_field lost_after_tx "${live[@]}")), off lost $(for l in "${off[@]}"; do echo -n "$(echo " $l" | field lost) "; done); clones delivered $(sum_field delivered "${live[@]}") of $(sum_field mirrored "${live[@]}"), queue_full $(sum_field queue_full "${live[@]}") | live - off: **${excess} %** of frames | <= 0.1 % |"
    done

    # (c) saturation, with the default class: forwarded pps, live vs off.
    fw_reload "$xdp" "$fwdA" default
    sat_live=() sat_off=() status_ms=()
    for ((r = 0; r < reps; r++)); do
        fw_reload "$xdp" "$fwdA" default
        # Mid-window, how long the slow path (control socket) takes to answer while saturated.
        { sleep 1.2; t0=$(now); "${spantap[@]}" status --json > /dev/null; echo "$t0 $(now)" > "$work/status-time"; } &
        asker=$!; pids+=("$asker")
        saturate; sat_live+=("$(cat "$work/rate")")
        wait "$asker"; untrack "$asker"
        status_ms+=("$(awk '{printf "%.0f", ($2 - $1) * 1000}' "$work/status-time")")
        fw_reload "$xdp" "$quiet" default; saturate; sat_off+=("$(cat "$work/rate")")
    done
    ml=$(echo "${sat_live[*]}" | median) mo=$(echo "${sat_off[*]}" | median)
    echo "    $xdp saturation (default class): live ${sat_live[*]} off ${sat_off[*]}" >&2
    row "| 3b | $mode_seen XDP, saturating trafgen for ${window} s, sink scheduling not set (the default) | live $(printf %.0f "$ml") pps / off $(printf %.0f "$mo") pps; spantap status answered in $(echo "${status_ms[*]}" | median) ms (median) meanwhile | **$(ratio "$ml" "$mo")x** | >= 0.95x |"
    [ "$xdp" = generic ] && pps[spantapd_live]=$ml

    stop "$tcpdump_pid" INT
    stop "$daemon" TERM
done
ip link del "$quiet" 2>/dev/null
fi

# ---- row 4: the kernel's own mirror ---------------------------------------------------------
if want 4; then
echo "bench: row 4: tc matchall mirred (mirror to a TAP + redirect to the peer) at the same load" >&2
"$bench" hold-tap --tap "$ktap" > "$work/hold.txt" 2>&1 &
hold=$!; pids+=("$hold")
wait_for "$work/hold.txt" "^ready" 10
tc qdisc add dev "$fwdA" clsact
# matchall as in the issue; kernels without cls_matchall (this one) get u32's match-everything.
classifier=matchall
actions=(action mirred egress mirror dev "$ktap" pipe action mirred egress redirect dev "$fwdB")
if ! tc filter add dev "$fwdA" ingress matchall "${actions[@]}" 2>/dev/null; then
    classifier="u32 match u32 0 0"
    tc filter add dev "$fwdA" ingress protocol all u32 match u32 0 0 "${actions[@]}"
fi
k=() kcap=""
for ((r = 0; r < reps; r++)); do
    start_tcpdump "$ktap" /dev/null
    b0=$(rxB)
    saturate
    b1=$(rxB)
    stop "$tcpdump_pid" INT
    k+=("$(cat "$work/rate")")
    kcap="$(captured_by_tcpdump "$ktap")/$((b1 - b0))"
done
tc qdisc del dev "$fwdA" clsact
stop "$hold" TERM
kpps=$(echo "${k[*]}" | median)
row "| 4 | kernel: tc ($classifier) redirect A->B + mirred mirror to a TAP with tcpdump, same trafgen load | $(printf %.0f "$kpps") pps forwarded (last run: tcpdump captured $kcap frames forwarded) | spantapd generic live / kernel: **$(ratio "${pps[spantapd_live]:-nan}" "$kpps")x** | context |"
fi

# ---- row 5: delivery and latency ------------------------------------------------------------
if want 5; then
echo "bench: row 5: delivery share and enqueue-to-TAP latency at 20 kpps (paced)" >&2
out="$work/latency.txt"
"$bench" forward --a "$fwdA" --b "$fwdB" --mirror live --tap "$mtap" --slots 32768 --pcap "$work/mirror.pcap" > "$out" 2> "$work/latency.err" &
fpid=$!; pids+=("$fpid")
wait_for "$out" "^ready" 20
start_tcpdump "$mtap" "$work/mirror.pcap" --time-stamp-precision=nano
ip netns exec "$hostA" "$work/paced_sender" eth0 "$macB_colon" 20000 20000 > /dev/null
# libpcap hands tcpdump a TPACKET_V3 block once it is full or its 1 s timeout expires; stopping
# sooner loses the last, partly filled block (about 1 000 frames at this rate) from the file.
sleep 1.5
stop "$tcpdump_pid" INT
stop "$fpid" TERM
lat=$(grep '^latency' "$out" || echo "latency missing")
sunk=$(grep '^result' "$out" | field delivered)
row "| 5 | delivery: 20 000 frames (64 B) paced at 20 kpps (paced_sender), rate 1, tcpdump -w on the TAP | sink delivered $sunk of $(echo "$lat" | field mirrored) mirrored; tcpdump captured $(echo "$lat" | field captured) ($(echo "$lat" | field matched) matched byte for byte in ring order) | **$(echo "$lat" | field captured_share)** | 100% |"
row "| 5 | enqueue-to-TAP latency (record timestamp -> skb timestamp in the TAP write) | p50 $(echo "$lat" | field p50_us) us, p99 $(echo "$lat" | field p99_us) us, max $(echo "$lat" | field max_us) us | p99 **$(echo "$lat" | field p99_us) us** | |"
fi

# ---- row 6: memory --------------------------------------------------------------------------
if want 6; then
echo "bench: row 6: spantapd RSS with 4 external producers (4 rings x 4096 slots x 2048 B)" >&2
# The producers claim frames from this interface, so their rule (and its ifindex) exists.
ip link add "sbIn$id" type veth peer name "sbIp$id"
cat > "$work/spantap.conf" <<CFG
set forwarding-options port-mirroring instance span1 input ingress interface sbIn$id
set forwarding-options port-mirroring instance span1 input rate 1
set forwarding-options port-mirroring instance span1 output interface $dtap
CFG
"$bin/spantapd" --config "$work/spantap.conf" --control-socket "$work/spantapd.sock" \
    --ring-slots 4096 --ring-slot-size 2048 --log-level warning 2> "$work/spantapd.log" &
daemon=$!; pids+=("$daemon")
for _ in $(seq 100); do [ -S "$work/spantapd.sock" ] && break; sleep 0.1; done
sleep 0.5
rss() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$daemon/status"; }
idle_rss=$(rss VmRSS)
producers=()
for n in 1 2 3 4; do
    "$work/spantap_producer" -s "$work/spantapd.sock" -n "bench$n" -i "sbIn$id" -c 4096 -l 1500 -w 4 > "$work/producer$n.txt" 2>&1 &
    producers+=($!); pids+=($!)
done
sleep 2
busy_rss=$(rss VmRSS) busy_anon=$(rss RssAnon) busy_shmem=$(rss RssShmem)
for p in "${producers[@]}"; do wait "$p" || true; untrack "$p"; done
stop "$daemon" TERM
ring_kib=$(( 4 * (8704 + 4096 * 2048) / 1024 ))
row "| 6 | spantapd RSS, 4 producers x 4096 slots (each wrote 4096 frames of 1500 B) | RSS $busy_rss KiB (anon $busy_anon, shmem $busy_shmem; idle $idle_rss) vs rings $ring_kib KiB | RSS/rings **$(ratio "$busy_rss" "$ring_kib")x**, above idle + rings: **$(( busy_rss - idle_rss - ring_kib )) KiB** | |"
fi

# ---- row 7: the C producer API, and the Rust crate beside it ---------------------------------
if want 7; then
echo "bench: row 7: C producer (spantap_ring.h) and Rust producer (rust/spantap-producer), ns per mirrored frame" >&2
prod() {   # prod BENCH MODE SIZE -> median ns_per_frame of $reps runs, batches of 32
    local runs=() r
    for ((r = 0; r < reps; r++)); do runs+=("$("$1" "$2" "$3" 32 20000000 | field ns_per_frame)"); done
    echo "${runs[*]}" | median
}
cprod() { prod "$work/c_producer_bench" "$1" "${2:-64}"; }
rprod() { prod "$rust_producer_bench" "$1" "${2:-64}"; }
c_enqueue=$(cprod enqueue) c_batched=$(cprod batched) c_forwarder=$(cprod forwarder) c_batched_1500=$(cprod batched 1500)
r_batched=$(rprod batched) r_forwarder=$(rprod forwarder) r_batched_1500=$(rprod batched 1500)
row "| 7 | C producer, 64 B, every frame mirrored: enqueue per frame vs stage per frame + publish per 32 | $c_enqueue / $c_batched ns/frame | batched **$(ratio "$c_enqueue" "$c_batched")x** faster | |"
row "| 7 | C producer as a forwarder uses it: rules refresh per batch, find + sample + stage per frame, publish per 32 | $c_forwarder ns/frame | **+$(awk -v a="$c_forwarder" -v b="$c_batched" 'BEGIN{printf "%.2f", a-b}') ns** over stage alone | |"
row "| 7 | Rust producer vs C, stage + publish per 32, 64 B / 1500 B | Rust $r_batched / $r_batched_1500, C $c_batched / $c_batched_1500 ns/frame | Rust/C **$(ratio "$r_batched" "$c_batched")x** / **$(ratio "$r_batched_1500" "$c_batched_1500")x** | <= 1.1x |"
row "| 7 | Rust producer vs C as a forwarder uses it (refresh + find + sample + stage), 64 B | Rust $r_forwarder, C $c_forwarder ns/frame | Rust/C **$(ratio "$r_forwarder" "$c_forwarder")x** | <= 1.1x |"
fi

# ---- the table ------------------------------------------------------------------------------
elapsed=$(( $(date +%s) - started ))
echo
echo "SpanTap benchmarks: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), kernel $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ), ${reps} reps, ${elapsed} s"
echo
echo "| row | what | measured | ratio / count | target |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
