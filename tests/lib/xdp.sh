# SPDX-License-Identifier: MIT
# xdp.sh - the xdp backend in network tests. Source it after netns.sh.
#
#   xdp_cable NS CABLE [ADDR...]
#       makes CABLE (a veth end made by netns_link) ready for vstack's xdp
#       backend: its peer sends complete checksums (AF_XDP has no
#       checksum offload, and a veth passes the kernel's partial ones
#       on), ADDR... are on CABLE. vstack's device is then xdp:CABLE.
#   xdp_pin_peer NS CABLE QUEUE
#       the peer of CABLE sends every frame on its queue QUEUE (XPS), so
#       they all arrive on CABLE's queue QUEUE.
#   xdp_attached NS CABLE   true if an XDP program is on CABLE
#
# Queues: a veth has as many as netns_link gave it (NETNS_QUEUES).

# The peer of to_B in namespace A is to_A in namespace B.
xdp_peer() { echo "${2#to_} to_$1"; }

xdp_cable() {
	local ns=$1 cable=$2 a pns pif
	shift 2
	read -r pns pif <<<"$(xdp_peer "$ns" "$cable")"
	netns_exec "$pns" ethtool -K "$pif" tx off >/dev/null 2>&1 || true
	netns_exec "$ns" ethtool -K "$cable" tx off >/dev/null 2>&1 || true
	for a in "$@"; do
		case $a in
		*:*) netns_exec "$ns" ip addr replace "$a" dev "$cable" nodad ;;
		*) netns_exec "$ns" ip addr replace "$a" dev "$cable" ;;
		esac
	done
}

xdp_pin_peer() {
	local ns=$1 cable=$2 queue=$3 pns pif n all q
	read -r pns pif <<<"$(xdp_peer "$ns" "$cable")"
	n=$(nproc)
	all=$(printf '%x' $(((1 << n) - 1)))
	netns_exec "$pns" sh -c "for f in /sys/class/net/$pif/queues/tx-*/xps_cpus; do echo 0 >\$f; done; echo $all >/sys/class/net/$pif/queues/tx-$queue/xps_cpus"
}

xdp_attached() {
	netns_exec "$1" ip link show dev "$2" | grep -q 'prog/xdp'
}
