#!/usr/bin/env bash
# SpanTap in two minutes: two hosts in network namespaces talk through spantapd's AF_XDP
# cross-connect while tcpdump on the mirror TAP shows host A's frames, VLAN tags included.
# Everything it creates is removed on exit, Ctrl-C or failure. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/lab.sh
source scripts/lab.sh
prepare_demo demo "namespaces, veths and a TAP"

id=$$
hostA="spdemoA$id" hostB="spdemoB$id"          # namespaces: the two hosts
fwdA="spdA$id" fwdB="spdB$id"                  # the forwarder's ends (this namespace)
tap="spmir$id"                                 # the mirror output spantapd creates
work=$(mktemp -d /tmp/spantap-demo.XXXXXX)
subnet=$((id % 200 + 20))
pids=()

namespaces=("$hostA" "$hostB") links=("$fwdA" "$fwdB" "$tap")
trap remove_lab EXIT
trap 'exit 130' INT TERM

echo "demo: lab: $hostA (10.99.$subnet.1) <-> [$fwdA spantapd $fwdB] <-> $hostB (10.99.$subnet.2)"
host "$hostA" "$fwdA" "10.99.$subnet.1"
host "$hostB" "$fwdB" "10.99.$subnet.2"

# The shipped example config with this lab's interface names; rate 1 so every frame shows.
sed -e "s/fwd-a/$fwdA/g" -e "s/fwd-b/$fwdB/g" -e "s/span0/$tap/g" -e "s/rate 10;/rate 1;/" \
    etc/spantap.conf > "$work/spantap.conf"
start_spantapd

# Three 802.1Q-tagged frames (VLAN 100, priority 5), sent raw by trafgen: the tag must survive.
cat > "$work/vlan.trafgen" <<CFG
{ 0x02,0x00,0x5e,0x10,0x00,0x02, 0x02,0x00,0x5e,0x10,0x00,0x01, 0x81,0x00, 0xa0,0x64, 0x08,0x00,
  0x45,0x00,0x00,0x1c, 0x00,0x01,0x00,0x00, 0x40,0x01,0x00,0x00, 10,100,$subnet,1, 10,100,$subnet,2,
  0x08,0x00,0xf7,0xff,0x00,0x00,0x00,0x00, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0 }
CFG

echo; echo "demo: tcpdump -e -n -i $tap (the mirror TAP) while host A pings B and sends VLAN 100 frames:"
timeout 10 tcpdump -e -n -l -i "$tap" -c 11 2>/dev/null | tee "$work/mirror.txt" | sed 's/^/  tcpdump | /' &
pids+=($!)
sleep 1
ip netns exec "$hostA" ping -c 3 -i 0.3 -W 2 "10.99.$subnet.2" | sed 's/^/  ping    | /'
ip netns exec "$hostA" trafgen --dev eth0 --in "$work/vlan.trafgen" --num 3 -P 1 >/dev/null 2>&1
wait "${pids[-1]}" || true   # timeout's status when fewer than 11 came; the checks below say what is missing
expect_seen demo "ICMP echo requests of host A on the mirror TAP" "$(grep -c 'ICMP echo request' "$work/mirror.txt")" 3
expect_seen demo "802.1Q frames with their tag (vlan 100, p 5) on the mirror TAP" "$(grep -c 'vlan 100, p 5' "$work/mirror.txt")" 3

echo; echo "demo: iperf3 for 3 s from A to B through the forwarder, tcpdump counting the mirror:"
tcpdump -n -i "$tap" -w /dev/null 2> "$work/tcpdump.txt" &
pids+=($!)
ip netns exec "$hostB" iperf3 -s -1 -B "10.99.$subnet.2" >/dev/null 2>&1 &
pids+=($!)
sleep 0.5
ip netns exec "$hostA" iperf3 -c "10.99.$subnet.2" -t 3 -f m | grep -E "sender|receiver" | sed 's/^/  iperf3  | /'
sleep 0.5
kill -INT "${pids[-2]}"; wait "${pids[-2]}" 2>/dev/null || true
grep -E "captured|dropped" "$work/tcpdump.txt" | sed 's/^/  tcpdump | /'
expect_seen demo "iperf3 frames tcpdump captured on the mirror TAP" \
    "$(sed -n 's/^\([0-9]*\) packets\{0,1\} captured.*/\1/p' "$work/tcpdump.txt")" 1000

echo; echo "demo: spantap status"
"$bin/spantap" --control-socket "$work/spantapd.sock" status | sed 's/^/  /'
echo; echo "demo: done; removing the lab"
