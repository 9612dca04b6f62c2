# apps.sockperf: a sockperf server on vstack (LD_PRELOAD); ping-pong and
# throughput from the kernel peer, UDP and TCP.
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
	vstack_exec a mlx5_0 sockperf sr $flag -i 10.77.1.1 -p 11111 >"$VSEMU_TMP/srv" 2>&1 &
	srv=$!
	sleep 1
	netns_exec b timeout 60 sockperf pp $flag -i 10.77.1.1 -p 11111 -t 2 >"$VSEMU_TMP/cli" 2>&1 ||
		fail "$proto ping-pong"
	lat=$(sed -n 's/.*Summary: Latency is \([0-9.]*\) usec.*/\1/p' "$VSEMU_TMP/cli")
	[ -n "$lat" ] || fail "$proto ping-pong: no result"
	netns_exec b timeout 60 sockperf tp $flag -i 10.77.1.1 -p 11111 -t 2 >"$VSEMU_TMP/cli" 2>&1 ||
		fail "$proto throughput"
	rate=$(sed -n 's/.*Summary: Message Rate is \([0-9]*\).*/\1/p' "$VSEMU_TMP/cli")
	[ -n "$rate" ] || fail "$proto throughput: no result"
	! grep -qi 'error' "$VSEMU_TMP/cli" "$VSEMU_TMP/srv" || fail "$proto: errors reported"
	echo "$proto: ping-pong latency $lat usec; throughput $rate msg/s"
	kill "$srv" 2>/dev/null || true
	wait "$srv" 2>/dev/null || true
done
echo "apps.sockperf: ok"
