# stack.no_net_admin: a preloaded program without CAP_NET_ADMIN (the
# kernel refuses vstack's RTM_NEWNEIGH asking it to resolve a neighbour)
# and no neighbour known connects on vstack anyway, over IPv4 (ARP) and
# IPv6 (ND): vstack has the kernel resolve the neighbour another way
# (a datagram to the discard port), and a stale netlink answer does not
# poison the next request (src/stack/kernel.c).
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP/log" "$VSEMU_TMP/echo" >&2 2>/dev/null; exit 1; }
command -v setpriv >/dev/null || { echo "setpriv missing: run scripts/setup"; exit 77; }

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24 fd77:1::1/64
netns_exec b "$VS_BUILD/tests/kecho" 7000 2 >"$VSEMU_TMP/echo" 2>&1 &
wait_for_line "$VSEMU_TMP/echo" listening || fail "the kernel echo server"
for peer in 10.77.1.2 fd77:1::2; do
	netns_exec a ip neigh flush dev vsmlx5_0
	# One connection, a line out and its echo back (kmany 1).
	VSTACK_LOG=info vstack_exec a mlx5_0 setpriv --bounding-set=-net_admin --inh-caps=-all \
		timeout 20 "$VS_BUILD/tests/kmany" "$peer" 7000 1 >"$VSEMU_TMP/out" 2>"$VSEMU_TMP/log" ||
		fail "$peer: $(cat "$VSEMU_TMP/out")"
	read -r _ con _ <<<"$(vs_carried "$VSEMU_TMP/log")"
	[ "${con:-0}" = 1 ] || fail "$peer: vstack carried ${con:-no} connections"
	echo "$peer without CAP_NET_ADMIN, no neighbour known: connected and echoed on vstack"
done
echo "stack.no_net_admin: ok"
