# apps.sockperf: a sockperf server on vstack (LD_PRELOAD); ping-pong and
# throughput from the kernel peer, UDP and TCP; vstack's counters show it
# carried them (UDP: Udp.InDatagrams at least the messages sockperf's
# ping-pong had answered; TCP: both clients' connections accepted).
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP/srv" "$VSEMU_TMP/cli" >&2; exit 1; }
command -v sockperf >/dev/null || { echo "sockperf missing: run scripts/setup"; exit 77; }

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24
for proto in udp tcp; do
	flag=; [ $proto = tcp ] && flag=--tcp
	: >"$VSEMU_TMP/srv" # here: the job's redirection may come after the wait
	VSTACK_LOG=info vstack_exec a mlx5_0 sockperf sr $flag -i 10.77.1.1 -p 11111 >>"$VSEMU_TMP/srv" 2>&1 &
	if [ $proto = tcp ]; then on="listening on vstack"; else on="UDP on vstack"; fi
	wait_for_line "$VSEMU_TMP/srv" "$on" || fail "$proto: the server is not on vstack"
	pid=$(netns_pidof a sockperf)
	# sockperf reports no latency ("No valid observations found") when
	# a run was starved of CPU (seen once in CI's parallel stage: 2,200
	# round trips a second instead of ~38,000, none lost): one more try,
	# its first output shown.
	for try in 1 2; do
		netns_exec b timeout 60 sockperf pp $flag -i 10.77.1.1 -p 11111 -t 2 >"$VSEMU_TMP/cli" 2>&1 ||
			fail "$proto ping-pong"
		lat=$(sed -n 's/.*Summary: Latency is \([0-9.]*\) usec.*/\1/p' "$VSEMU_TMP/cli")
		[ -z "$lat" ] || break
		echo "$proto ping-pong, try $try: no result"
		cat "$VSEMU_TMP/cli"
	done
	[ -n "$lat" ] || fail "$proto ping-pong: no result"
	answered=$(sed -n 's/.*ReceivedMessages=\([0-9]*\).*/\1/p' "$VSEMU_TMP/cli" | head -1)
	[ "${answered:-0}" -gt 0 ] || fail "$proto ping-pong: no message answered"
	netns_exec b timeout 60 sockperf tp $flag -i 10.77.1.1 -p 11111 -t 2 >"$VSEMU_TMP/cli" 2>&1 ||
		fail "$proto throughput"
	rate=$(sed -n 's/.*Summary: Message Rate is \([0-9]*\).*/\1/p' "$VSEMU_TMP/cli")
	[ -n "$rate" ] || fail "$proto throughput: no result"
	! grep -qi 'error' "$VSEMU_TMP/cli" "$VSEMU_TMP/srv" || fail "$proto: errors reported"
	if [ $proto = udp ]; then
		n=$(vs_snmp "$pid" Udp.InDatagrams)
		[ "${n:-0}" -ge "$answered" ] || fail "vstack received ${n:-no} datagrams, fewer than the $answered answered"
	else
		n=$(vs_snmp "$pid" Tcp.PassiveOpens)
		[ "${n:-0}" -ge 2 ] || fail "vstack accepted ${n:-no} connections, not the 2 clients'"
	fi
	echo "$proto: ping-pong latency $lat usec; throughput $rate msg/s; vstack: $n"
	kill "$pid" 2>/dev/null || true
	# Its exit includes the kernel's teardown of its queues (AF_XDP:
	# sockets, umem); seen to take over 10 s on a loaded machine
	# (and once, in CI, over 30 s: the reason not yet known).
	netns_wait_gone a sockperf 60 || fail "sockperf did not exit"
done
echo "apps.sockperf: ok"
