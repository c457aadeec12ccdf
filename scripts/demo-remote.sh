#!/usr/bin/env bash
# Remote mirroring in one minute: host A talks to host B through spantapd's AF_XDP cross-connect;
# spantapd mirrors both directions of host A's port to two outputs at once (a fan-out): a VXLAN
# device it creates (VNI 4242, UDP 4789) and an ERSPAN Type III session it builds itself, both
# towards a collector in a third namespace. The collector decapsulates the VXLAN with a device of
# its own and reads it with tcpdump, and decodes the ERSPAN with tshark (session, direction of
# each frame), as an analyzer host on another machine would. Everything it creates is removed on
# exit, Ctrl-C or failure. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/lab.sh
source scripts/lab.sh
prepare_demo demo-remote "namespaces, veths and VXLAN devices"

id=$$
hostA="sprA$id" hostB="sprB$id" collector="sprC$id"   # namespaces
fwdA="sprfA$id" fwdB="sprfB$id"                      # the forwarder's ends (this namespace)
underlay="sprU$id"                                   # spantapd's end of the link to the collector
vni=4242
tunnel="stv$vni"                                     # the VXLAN device spantapd creates
work=$(mktemp -d /tmp/spantap-demo-remote.XXXXXX)
subnet=$((id % 200 + 20))
pids=()

namespaces=("$hostA" "$hostB" "$collector") links=("$fwdA" "$fwdB" "$underlay" "$tunnel")
trap remove_lab EXIT
trap 'exit 130' INT TERM

echo "demo-remote: lab: $hostA (10.99.$subnet.1) <-> [$fwdA spantapd $fwdB] <-> $hostB (10.99.$subnet.2)"
host "$hostA" "$fwdA" "10.99.$subnet.1"
host "$hostB" "$fwdB" "10.99.$subnet.2"

# The collector: its own namespace, reached over one veth (the underlay), 10.98.N.0/24.
echo "demo-remote: collector $collector (10.98.$subnet.2), reached over $underlay (10.98.$subnet.1)"
quiet_namespace "$collector"
ip link add "$underlay" type veth peer name eth0 netns "$collector"
sysctl -q -w "net.ipv6.conf.$underlay.disable_ipv6=1"
ip addr add "10.98.$subnet.1/24" dev "$underlay"; ip link set "$underlay" up
ip -n "$collector" addr add "10.98.$subnet.2/24" dev eth0
ip -n "$collector" link set lo up; ip -n "$collector" link set eth0 up
# What an operator runs on the analyzer host: a VXLAN device with the same VNI, then tcpdump on it.
ip -n "$collector" link add vxmirror type vxlan id "$vni" dstport 4789 local "10.98.$subnet.2" nolearning
ip -n "$collector" link set vxmirror up

cat > "$work/spantap.conf" <<CFG
forwarding-options {
    analyzer span1 {
        input {
            ingress { interface $fwdA; }
            egress { interface $fwdA; }
        }
        output {
            interface $tunnel {
                vxlan { remote 10.98.$subnet.2; vni $vni; local 10.98.$subnet.1; }
            }
            interface ers-ids {
                erspan { remote 10.98.$subnet.2; local 10.98.$subnet.1; version 3; session-id 100; hardware-id 7; }
            }
        }
    }
}
dataplane {
    xdp-mode generic;
    cross-connect wire0 { interface $fwdA; interface $fwdB; }
}
CFG
start_spantapd
echo; echo "demo-remote: ip -d link show $tunnel (made by spantapd)"
ip -d link show "$tunnel" | sed 's/^/  /'

echo; echo "demo-remote: on the collector, tcpdump -e -n -i vxmirror (decapsulated) and on its underlay (outer UDP 4789):"
ip netns exec "$collector" timeout 8 tcpdump -e -n -l --immediate-mode -i vxmirror -c 6 icmp 2>/dev/null | tee "$work/inner.txt" | sed 's/^/  inner   | /' &
pids+=($!)
ip netns exec "$collector" timeout 8 tcpdump -n -l --immediate-mode -i eth0 -c 2 udp port 4789 2>/dev/null | tee "$work/outer.txt" | sed 's/^/  outer   | /' &
pids+=($!)
echo "demo-remote: and tshark on its underlay decoding the ERSPAN session (sequence, session, direction, inner ICMP type):"
ip netns exec "$collector" timeout 8 tshark -l -i eth0 -f "ip proto 47" -c 8 -T fields -e gre.sequence_number -e erspan.spanid \
    -e erspan.direction -e icmp.type 2>/dev/null | tee "$work/erspan.txt" | sed 's/^/  erspan  | /' &
pids+=($!)
sleep 2   # tshark takes a moment to start listening
ip netns exec "$hostA" ping -c 3 -i 0.3 -W 2 "10.99.$subnet.2" | sed 's/^/  ping    | /'
wait "${pids[-1]}" "${pids[-2]}" "${pids[-3]}" || true   # timeout's status when fewer came; checked below
expect_seen demo-remote "host A's ICMP frames, both ways, decapsulated on the collector" "$(grep -c 'ICMP echo' "$work/inner.txt")" 6
expect_seen demo-remote "VXLAN datagrams (UDP 4789) on the collector's underlay" "$(grep -c -i 'vxlan\|4789' "$work/outer.txt")" 2
# Echo requests are ingress copies (direction 0), replies egress ones (1): one session tells them apart.
expect_seen demo-remote "ERSPAN ingress copies (echo requests) in session 100" "$(grep -cP '\t100\t(0|False)\t8$' "$work/erspan.txt")" 3
expect_seen demo-remote "ERSPAN egress copies (echo replies) in session 100" "$(grep -cP '\t100\t(1|True)\t0$' "$work/erspan.txt")" 3

echo; echo "demo-remote: spantap status"
"$bin/spantap" --control-socket "$work/spantapd.sock" status | sed 's/^/  /'
"$bin/spantap" --control-socket "$work/spantapd.sock" status --json | python3 -c '
import json, sys
for out in json.load(sys.stdin)["instances"][0]["outputs"]:
    print("  output:", {k: out[k] for k in ("interface", "kind", "remote", "vni", "session", "delivered_packets") if k in out})'
echo; echo "demo-remote: done; removing the lab"
