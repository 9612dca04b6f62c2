# sockapi.options: socket options vstack does not do itself, as
# docs/sockapi.md ("Socket options") says:
#   - TCP_CORK and SO_RCVBUF on a vstack connection succeed, and vstack
#     says once per option that it ignores them; the connection stays
#     vstack's (its exit line);
#   - a UDP socket that joins a multicast group, after bind or before,
#     is the kernel's: a multicast datagram from the peer arrives, and
#     vstack carried no datagram;
#   - a UDP socket that asks for IP_PKTINFO stays vstack's: a datagram
#     arrives with its destination address and the netdev's index in
#     the control data, and vstack carried it.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP"/out* >&2 2>/dev/null; exit 1; }
probe=$VS_BUILD/tests/opts_probe

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24
netns_exec b ip route add 224.0.0.0/4 dev to_a
run() { # OUT ARGS...: opts_probe on vstack, in the background
	local out=$1
	shift
	VSTACK_LOG=info vstack_exec a mlx5_0 timeout 60 "$probe" "$@" >"$out" 2>&1 &
}

# Options vstack ignores: accepted, said once each.
netns_exec b "$VS_BUILD/tests/kecho" 7000 1 >"$VSEMU_TMP/echo" 2>&1 &
wait_for_line "$VSEMU_TMP/echo" listening
run "$VSEMU_TMP/out.ign" ignored 10.77.1.2 7000
wait $! || fail "ignored options"
cat "$VSEMU_TMP/out.ign"
grep -q '^echoed' "$VSEMU_TMP/out.ign" || fail "no echo"
n=$(grep -c "setsockopt TCP_CORK: vstack's socket ignores it" "$VSEMU_TMP/out.ign" || true)
[ "$n" = 1 ] || fail "TCP_CORK (set three times) said $n times, not once"
grep -q "setsockopt SO_RCVBUF: vstack's socket ignores it" "$VSEMU_TMP/out.ign" ||
	fail "SO_RCVBUF not said"
read -r _ con _ <<<"$(vs_carried "$VSEMU_TMP/out.ign")"
[ "${con:-0}" = 1 ] || fail "vstack carried ${con:-no} connections, not the probe's"

# Multicast: the kernel carries the socket, joined after bind or before.
for how in after before; do
	out=$VSEMU_TMP/out.mc.$how
	args=(mcast 10.77.1.1 239.7.7.7 9100)
	[ $how = before ] && args+=(before)
	run "$out" "${args[@]}"
	p=$!
	wait_for_line "$out" joined
	sent() {
		netns_exec b bash -c "echo m-$how >/dev/udp/239.7.7.7/9100"
		grep -q "^got m-$how" "$out"
	}
	wait_until 15 "the multicast datagram ($how bind)" sent || fail "multicast, joined $how bind"
	wait $p || fail "the probe, joined $how bind"
	cat "$out"
	if [ $how = after ]; then
		grep -q "setsockopt IP_ADD_MEMBERSHIP: the kernel carries this UDP socket" "$out" ||
			fail "the socket did not go back to the kernel"
		read -r _ _ _ _ rxd _ <<<"$(vs_carried "$out")"
		[ "${rxd:-x}" = 0 ] || fail "vstack received ${rxd:-?} datagrams on a kernel socket"
	else
		! grep -q "UDP on vstack, port 9100" "$out" || fail "vstack took a socket that joined a group"
	fi
done

# IP_PKTINFO: vstack's socket, with the destination in control data.
out=$VSEMU_TMP/out.pi
run "$out" pktinfo 9200
p=$!
wait_for_line "$out" asked
sent() {
	netns_exec b bash -c 'echo p >/dev/udp/10.77.1.1/9200'
	grep -q '^got p' "$out"
}
wait_until 15 "the datagram for IP_PKTINFO" sent || fail "IP_PKTINFO: no datagram"
wait $p || fail "the pktinfo probe"
cat "$out"
ifindex=$(netns_exec a cat "/sys/class/net/$([ "$VS_BACKEND" = xdp ] && echo to_b || echo vsmlx5_0)/ifindex")
grep -q "^got p to 10.77.1.1 on $ifindex\$" "$out" || fail "no IP_PKTINFO control data (netdev $ifindex)"
! grep -q "the kernel carries this UDP socket" "$out" || fail "the socket went back to the kernel"
read -r _ _ _ _ din _ <<<"$(vs_carried "$out")"
[ "${din:-0}" -ge 1 ] || fail "vstack carried ${din:-no} datagrams, not the probe's"
echo "sockapi.options: ok"
