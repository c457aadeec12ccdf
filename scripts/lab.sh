# Shared by the demo scripts (source it): the namespace hosts of a demo lab.

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
