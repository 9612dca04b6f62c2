# stack.addresses: a listener and a UDP socket bound to the unspecified
# address take only the frames to addresses vstack serves (the port's
# first IPv4 address, its IPv6 ones). A second IPv4 address on the same
# netdev stays the kernel's: the program's kernel twin answers there.
# (Before, the rule matched every destination: the second address's
# frames went to lwIP, which dropped them, and its clients timed out.)
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP"/out* >&2 2>/dev/null; exit 1; }

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24
netns_exec a ip addr add 10.77.1.5/24 dev vsmlx5_0
netns_exec b ip addr add 10.77.1.6/24 dev to_a

VSTACK_LOG=info vstack_exec a mlx5_0 "$VS_BUILD/bench/epoll_echo" 7000 >"$VSEMU_TMP/out.tcp" 2>&1 &
wait_for_line "$VSEMU_TMP/out.tcp" "listening on vstack" || fail "the listener is not on vstack"
pid=$(netns_pidof a epoll_echo)
netns_exec b timeout 20 "$VS_BUILD/tests/kbulk" 10.77.1.1 7000 1 || fail "TCP to the first address (vstack)"
netns_exec b timeout 20 "$VS_BUILD/tests/kbulk" 10.77.1.5 7000 1 || fail "TCP to the second address (the kernel)"
opens=$(vs_snmp "$pid" Tcp.PassiveOpens)
[ "$opens" = 1 ] || fail "vstack accepted $opens connections, not the first address's 1"

VSTACK_LOG=info vstack_exec a mlx5_0 "$VS_BUILD/tests/kudp" echo 7400 100 >"$VSEMU_TMP/out.udp" 2>&1 &
wait_for_line "$VSEMU_TMP/out.udp" "UDP on vstack" || fail "the UDP socket is not on vstack"
upid=$(netns_pidof a kudp)
netns_exec b "$VS_BUILD/tests/kudp" client 10.77.1.1 7400 1 1000 1400 || fail "UDP to the first address"
in1=$(vs_snmp "$upid" Udp.InDatagrams)
netns_exec b "$VS_BUILD/tests/kudp" client 10.77.1.5 7400 1 1000 1400 || fail "UDP to the second address"
in2=$(vs_snmp "$upid" Udp.InDatagrams)
[ "$in1" -ge 3 ] && [ "$in2" = "$in1" ] ||
	fail "vstack received $in1 datagrams for the first address, then $((in2 - in1)) for the second (want >= 3, then 0)"
echo "stack.addresses: ok"
