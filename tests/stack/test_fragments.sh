# SPDX-License-Identifier: MIT
# stack.fragments: UDP datagrams larger than the MTU (1500) through the
# emulated ConnectX (and on xdp, in xdp.stack), IPv4 and IPv6, both
# ways, 8 KiB and 60 KiB, every byte checked:
#   - a preloaded client (2 engines, its socket on engine 1) gets them
#     echoed by a kernel server: lwIP fragments them, the kernel's
#     answers are reassembled by engine 0 and handed to engine 1;
#   - a preloaded server (kudp echo-cores: a socket on engine 0, port
#     7400, and one on engine 1, 7401) echoes a kernel client's;
#   - meanwhile a kernel server in the same namespace, on a port no
#     vstack socket has, still gets its fragmented datagrams (an unknown
#     flow's fragments reach the kernel);
#   - vstack's counters show that it carried them: datagrams in and out,
#     reassembled (Ip.ReasmOKs), handed from engine 0 to engine 1
#     (frag_handed).
# The client runs first and alone: on xdp one process holds every queue.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
log=$VSEMU_TMP
fail() { echo "FAIL: $*" >&2; cat "$log"/*.out >&2 2>/dev/null; exit 1; }
ctl=$VS_BUILD/src/ctl/vstackctl
sizes="1000 8192 61440"
big=2 # of the sizes, those fragmented

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24 fd77:1::1/64
netns_exec a ip link show "$([ "$VS_BACKEND" = xdp ] && echo to_b || echo vsmlx5_0)" |
	grep -q "mtu 1500" || fail "the netdev's MTU is not 1500"

# Kernel echo servers: in b for vstack's client, in a for the unknown flow.
netns_exec b "$VS_BUILD/tests/kudp" echo 7500 1000 >"$log/kb.out" 2>&1 &
wait_for_line "$log/kb.out" listening
netns_exec a "$VS_BUILD/tests/kudp" echo 7600 1000 >"$log/ka.out" 2>&1 &
wait_for_line "$log/ka.out" listening

# The preloaded client, on core 1: its socket is engine 1's.
for addr in 10.77.1.2 fd77:1::2; do
	# shellcheck disable=SC2086
	VSTACK_CORES=2 vstack_exec a mlx5_0 env VSTACK_LOG=info taskset -c 1 \
		"$VS_BUILD/tests/kudp" client "$addr" 7500 $sizes >"$log/vc.out" 2>&1 ||
		fail "vstack client to $addr"
	cat "$log/vc.out"
	read -r _ _ _ _ din dout < <(vs_carried "$log/vc.out") || true
	[ "${din:-0}" -ge 3 ] && [ "${dout:-0}" -ge 3 ] ||
		fail "the preloaded client's datagrams to $addr were not vstack's (in ${din:-?}, out ${dout:-?})"
done

# The preloaded server, a socket on each engine.
VSTACK_CORES=2 vstack_exec a mlx5_0 "$VS_BUILD/tests/kudp" echo-cores 7400 1000 \
	>"$log/s.out" 2>&1 &
wait_for_line "$log/s.out" listening
pid=$(sed -n 's/^listening (pid \([0-9]*\))$/\1/p' "$log/s.out")
for port in 7400 7401 7600; do
	for addr in 10.77.1.1 fd77:1::1; do
		# shellcheck disable=SC2086
		netns_exec b "$VS_BUILD/tests/kudp" client "$addr" $port $sizes \
			>"$log/c.out" 2>&1 || fail "kernel client to $addr port $port"
		cat "$log/c.out"
	done
done
grep -q "cannot run" "$log/s.out" && fail "the server's threads did not get their cores"

# What vstack did for the server: every datagram to 7400 and 7401 came
# in and went out through it; each big one reassembled, those to 7401
# (engine 1's) handed over from engine 0.
stat() { # the sum of a vstackctl stats column over the server's cores
	"$ctl" stats -p "$pid" | awk -v k="$1" '
		NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		{ s += $c[k] } END { print s + 0 }'
}
reasm=$(vs_snmp "$pid" Ip.ReasmOKs) in=$(vs_snmp "$pid" Udp.InDatagrams)
out=$(vs_snmp "$pid" Udp.OutDatagrams) handed=$(stat frag_handed)
echo "server: Udp.InDatagrams $in, Udp.OutDatagrams $out, Ip.ReasmOKs $reasm, frag_handed $handed"
[ "$in" -ge 12 ] && [ "$out" -ge 12 ] || fail "vstack carried $in datagrams in and $out out (12 each expected)"
[ "$reasm" -ge $((4 * big)) ] || fail "vstack reassembled $reasm datagrams ($((4 * big)) expected)"
[ "$handed" -ge $((2 * big)) ] || fail "vstack handed $handed datagrams to engine 1 ($((2 * big)) expected)"
echo "stack.fragments: ok"
