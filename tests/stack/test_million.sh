# stack.million: N connections (default 200,000; bench/million.sh runs
# 1,000,000) from kernel clients in namespace b, spread over enough
# source addresses for the ports, to one native-API echo server
# (tests/million, one context) on the emulated ConnectX; each connection
# echoes one message. Asserts that all N answered, that `vstackctl conns
# -s` counts N established connections on core 0 and `vstackctl conns`
# lists each (both timed), that vstack's and lwIP's heap per idle
# connection is at most 1 KiB, that while they are idle (every other
# one with keepalive on) the server uses under 5% of a core and they
# hold no packet buffer, that 1,000 outbound connections the server
# opens cost no more than twice as long in vs_connect as with none
# held, and that all close cleanly. Prints
#   million: N conns, B bytes/conn, accept R conn/s, kernel R2 conn/s
# where R2 is the same client's rate against a kernel server in
# namespace a on the same cable (its own run, after vstack's).
# Under the sanitizers' runtime (VS_SLOW) N is 20,000 and the heap is
# not measured (ASan's allocator is not glibc's).
#   test_million.sh [N]
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
if [ "$VS_SLOW" -gt 1 ]; then n=${1:-20000}; else n=${1:-200000}; fi
window=${MILLION_WINDOW:-2000}
ctl=$VS_BUILD/src/ctl/vstackctl
export VSTACK_CONTROL_DIR=$VSEMU_TMP/ctl
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP"/srv "$VSEMU_TMP"/cli* >&2 2>/dev/null; exit 1; }

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24
# The clients' source addresses: 60,000 ports each (kmany -s, -b).
srcs=()
for i in $(seq 1 $(((n + 59999) / 60000))); do
	netns_exec b ip addr add "10.77.1.$((100 + i))/24" dev to_a
	srcs+=(-s "10.77.1.$((100 + i))")
done

# One client process per 15,000 connections (a process's descriptors are
# capped at 20,000 where CAP_SYS_RESOURCE is missing), started together.
procs=$(((n + 14999) / 15000))
clients() { # PORT HOLD: starts the clients, their pids in cpids
	local i k b=0
	cpids=()
	for i in $(seq 0 $((procs - 1))); do
		k=$((n / procs + (i < n % procs ? 1 : 0)))
		netns_exec b "$VS_BUILD/tests/kmany" $2 -t 500 -w $(((window + procs - 1) / procs)) \
			"${srcs[@]}" -b "$b" 10.77.1.1 "$1" "$k" >"$VSEMU_TMP/cli.$1.$i" 2>&1 &
		cpids+=($!)
		b=$((b + k))
	done
}
# Connections per second over all clients: n over the slowest one's time.
rate_of() { # PORT
	cat "$VSEMU_TMP"/cli."$1".* | awk -v n="$n" '/^kmany: [0-9]* connected in/ { k++; if ($5 > t) t = $5 }
		END { if (k) printf "%.0f\n", n / t }'
}

# A kernel echo server in b for the server's own outbound connections.
netns_exec b "$VS_BUILD/tests/kmany" -l 61500 0 >"$VSEMU_TMP/peer" 2>&1 &
wait_for_line "$VSEMU_TMP/peer" listening || fail "the kernel peer did not start"
netns_exec a env VSEMU_DIR="$VSEMU_DIR" LD_PRELOAD="$VS_SAN_PRELOAD$VSEMU_LIB/libvsemu.so" \
	VSTACK_DEVICE=mlx5_0 VSTACK_LOG=warn "$VS_BUILD/tests/million" 7800 "$n" 10.77.1.101:61500 1000 \
	>"$VSEMU_TMP/srv" 2>&1 &
srv=$!
wait_for_line "$VSEMU_TMP/srv" ready || fail "the server did not start"
pid=$(sed -n 's/^ready, pid \([0-9]*\)$/\1/p' "$VSEMU_TMP/srv")
# connects ROUND: the server opens 1,000 connections to the kernel peer;
# prints the microseconds it spent in vs_connect.
connects() {
	kill -USR2 "$pid"
	rounds() { [ "$(grep -c "^million: 1000 connects" "$VSEMU_TMP/srv")" -ge "$1" ]; }
	wait_until 60 "the server's outbound connections" rounds "$1" || fail "outbound connections, round $1"
	grep "^million: 1000 connects" "$VSEMU_TMP/srv" | sed -n "$1p" | awk '{ print $4 }'
}
out0=$(connects 1)
clients 7800 -H
# Every client holds its connections, or one has given up.
held() {
	local i
	for i in "${!cpids[@]}"; do
		grep -q "kmany: holding" "$VSEMU_TMP/cli.7800.$i" && continue
		kill -0 "${cpids[$i]}" 2>/dev/null || return 0
		return 1
	done
}
wait_until 520 "the clients to exchange on $n connections" held || fail "the clients"
got=$(cat "$VSEMU_TMP"/cli.7800.* | awk '/^kmany: holding/ { s += $3 } END { print s + 0 }')
[ "$got" = "$n" ] || fail "$got of $n connections answered"
wait_for_line "$VSEMU_TMP/srv" "million: established" || fail "the server did not count $n echoes"
t0=$(date +%s.%N)
sum=$("$ctl" conns -s -p "$pid") || fail "vstackctl conns -s"
t1=$(date +%s.%N)
echo "$sum"
# Every connection's row, streamed in parts.
rows=$("$ctl" conns -p "$pid" | grep -c "^tcp  *ESTAB  *10\.77\.1\.1:7800 ") || fail "vstackctl conns"
t2=$(date +%s.%N)
[ "$rows" = "$n" ] || fail "vstackctl conns: $rows established rows, not $n"
awk -v a="$t0" -v b="$t1" -v c="$t2" -v n="$n" \
	'BEGIN { printf "vstackctl conns -s: %.2f s; conns, %d rows: %.2f s\n", b - a, n, c - b }'
est=$(awk '$1 == "all" && $2 == "tcp" && $3 == "ESTAB" { print $4 }' <<<"$sum")
est0=$(awk '$1 == "0" && $2 == "tcp" && $3 == "ESTAB" { print $4 }' <<<"$sum")
[ "$est" = "$n" ] && [ "$est0" = "$n" ] || fail "vstackctl conns -s: '$est' established ('$est0' on core 0), not $n"
# The heap now: every echo acknowledged (the clients have them all).
kill -USR1 "$pid"
wait_for_line "$VSEMU_TMP/srv" "million: heap" || fail "the server did not measure its heap"
bytes=$(sed -n 's/^million: heap \([0-9]*\) bytes\/conn$/\1/p' "$VSEMU_TMP/srv")
# Idle, every other one with keepalive on: no timer visits them, so the
# engine sleeps (CPU of all the server's threads over 2 s, schedstat).
idle=$(cpu_pct "$pid" 2)
echo "idle: $idle% of a core with $n connections held, $((n / 2)) of them with keepalive"
awk -v p="$idle" 'BEGIN { exit !(p < 5) }' || fail "the server used $idle% of a core while its connections were idle"
# Idle connections hold no packet buffer: the pool is as full as with
# none (all but the receive ring's posted buffers, and a few in flight).
read -r pfree psize < <("$ctl" stats -p "$pid" | awk 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
	{ print $c["pool_free"], $c["pool_size"]; exit }')
echo "pool: $pfree of $psize buffers free with $n connections held"
[ "$pfree" -ge $((psize - 2048)) ] || fail "idle connections hold $((psize - pfree)) packet buffers"
# Outbound connections cost the same with every connection held.
out1=$(connects 2)
echo "outbound: 1,000 connects took $out0 us in vs_connect with none held, $out1 us with $n"
[ "$out1" -le $((2 * out0 + 20000)) ] || fail "outbound connects $out1 us with $n held, $out0 us with none"
kill "$(sed -n 's/^listening, pid \([0-9]*\)$/\1/p' "$VSEMU_TMP/peer")"
rate=$(rate_of 7800)
# The clients' own pids (cpids are the shells that run them).
kill -USR1 $(cat "$VSEMU_TMP"/cli.7800.* | sed -n 's/^kmany: holding [0-9]* connections, pid \([0-9]*\)$/\1/p')
for p in "${cpids[@]}"; do wait "$p" || fail "a client"; done
# Each connection ended by vstack's FIN, none by an error.
read -r closed errs < <(cat "$VSEMU_TMP"/cli.7800.* |
	awk '/^kmany: [0-9]* of [0-9]* closed by the peer/ { s += $2; e += $9 } END { print s + 0, e + 0 }')
srv_done() { grep -q "^million: closed" "$VSEMU_TMP/srv"; }
if [ "$closed" != "$n" ] || [ "$errs" != 0 ] ||
	! wait_until 90 "the server to see every connection closed" srv_done; then
	"$ctl" conns -p "$pid" | tail -n 20 >&2 || true
	"$ctl" stats -p "$pid" >&2 || true
	"$ctl" snmp -p "$pid" >&2 || true
	netns_exec b nstat -az >&2 || true
	fail "$closed of $n connections closed by vstack ($errs by an error), or some left open on its side"
fi
wait "$srv" || fail "the server"
grep -q "^million: closed $n, 0 failed" "$VSEMU_TMP/srv" || fail "not all closed cleanly"

# The kernel's rate: the same clients against kernel servers in namespace
# a (port 7801 is not steered to vstack: the emulator hands it to the
# kernel), as many processes sharing the port as the descriptors need.
for i in $(seq 1 "$procs"); do
	netns_exec a "$VS_BUILD/tests/kmany" -l 7801 0 >"$VSEMU_TMP/ksrv.$i" 2>&1 &
	wait_for_line "$VSEMU_TMP/ksrv.$i" listening || fail "the kernel server"
done
# Closed by resets: nothing (orphans, TIME_WAITs) for the kernel to tear
# down while the next test runs.
clients 7801 -R
for p in "${cpids[@]}"; do wait "$p" || fail "a client against the kernel"; done
kill $(cat "$VSEMU_TMP"/ksrv.* | sed -n 's/^listening, pid \([0-9]*\)$/\1/p')
krate=$(rate_of 7801)

echo "million: $n conns, $bytes bytes/conn, accept $rate conn/s, kernel $krate conn/s"
if [ "$VS_SLOW" -gt 1 ]; then
	echo "stack.million: memory not measured under the sanitizers' runtime"
else
	[ -n "$bytes" ] && [ "$bytes" -le 1024 ] || fail "$bytes bytes per connection, above 1 KiB"
fi
echo "stack.million: ok"
