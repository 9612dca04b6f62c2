#!/usr/bin/env bash
# bench/million.sh - a million connections in one process, on the emulated
# ConnectX against kernel clients (as root):
#   1. stack.million's run at N (default 1,000,000): every connection
#      echoes a message; heap bytes per idle connection (vstack + lwIP),
#      accept rate against a kernel server's (same clients, same cable),
#      the idle server's CPU (half the connections with keepalive), the
#      pool's free buffers, 1,000 outbound connects with none and all held;
#   2. instructions per received segment while 1,000, 100,000 and
#      1,000,000 idle connections are held: tests/million under callgrind
#      (collection off while the idle ones connect), 200 more connections
#      doing 20 echoes each with collection on; vstack's code (src/) and
#      its lwIP copy, over the frames the engine received meanwhile. Flat
#      means a segment's demultiplexing and the timers do not grow with
#      the idle connections.
# Results and their reading: bench/README.md.
#   bench/million.sh [N] [IDLE...]     (defaults 1000000; 1000 100000 1000000)
set -euo pipefail
. "$(dirname "$0")/lib.sh" valgrind gawk
n=${1:-1000000}
shift || true
idles=("${@:-1000 100000 1000000}")
# shellcheck disable=SC2206
idles=(${idles[*]})

echo "== $n connections (tests/stack/test_million.sh)"
VS_SRC=$PWD bash tests/stack/test_million.sh "$n" | grep -E '^(million|idle|pool|outbound):'

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24
ctl=$VS_BUILD/src/ctl/vstackctl
export VSTACK_CONTROL_DIR=$VSEMU_TMP/ctl
srcs=()
for i in $(seq 1 20); do
	netns_exec b ip addr add "10.77.1.$((100 + i))/24" dev to_a
	srcs+=(-s "10.77.1.$((100 + i))")
done
wait_line() { # FILE TEXT SECONDS
	local t
	for t in $(seq $(($3 * 10))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	echo "bench/million.sh: no '$2' in $1" >&2; cat "$1" >&2; exit 1
}
# The measuring clients' own address: the idle ones hold every port of
# theirs, and ports bound by bind() are none of connect()'s to pick.
netns_exec b ip addr add 10.77.1.121/24 dev to_a
toggle() { # on|off BASE: callgrind's collection in the server ($pid, $port)
	callgrind_control -i "$1" "$pid" >/dev/null 2>&1 &
	local c=$!
	sleep 1
	netns_exec b "$VS_BUILD/tests/kmany" -s 10.77.1.121 -b "$2" 10.77.1.1 "$port" 1 \
		>"$VSEMU_TMP/wake.$1" 2>&1 || cat "$VSEMU_TMP/wake.$1" >&2
	wait "$c" || { echo "bench/million.sh: callgrind_control -i $1 failed" >&2; exit 1; }
}
rx() { "$ctl" stats -p "$1" -c 0 | awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "rx_packets") k = i; next } { print $k }'; }

echo
echo "== instructions per received segment with idle connections held (callgrind)"
printf '%10s %9s %10s %10s %10s\n' idle segments vstack lwIP total
port=7900
for idle in "${idles[@]}"; do
	port=$((port + 1))
	out=$VSEMU_TMP/cg.$idle
	netns_exec a env VSEMU_DIR="$VSEMU_DIR" LD_PRELOAD="$VSEMU_LIB/libvsemu.so" \
		VSTACK_DEVICE=mlx5_0 VSTACK_LOG=error valgrind --tool=callgrind \
		--instr-atstart=no --callgrind-out-file="$out.cg" --compress-strings=no \
		--compress-pos=no "$VS_BUILD/tests/million" "$port" "$((idle + 202))" >"$out.srv" 2>&1 &
	wait_line "$out.srv" "ready, pid" 120
	pid=$(sed -n 's/^ready, pid \([0-9]*\)$/\1/p' "$out.srv")
	# The idle ones, 15,000 per client process (descriptor limits).
	procs=$(((idle + 14999) / 15000)) b=0 hold=()
	for i in $(seq 0 $((procs - 1))); do
		k=$((idle / procs + (i < idle % procs ? 1 : 0)))
		netns_exec b "$VS_BUILD/tests/kmany" -H -t 3000 -w $((2000 / procs + 1)) "${srcs[@]}" \
			-b "$b" 10.77.1.1 "$port" "$k" >"$out.cli.$i" 2>&1 &
		b=$((b + k))
	done
	for i in $(seq 0 $((procs - 1))); do
		wait_line "$out.cli.$i" "kmany: holding" 3000
		hold+=("$(sed -n 's/^kmany: holding [0-9]* connections, pid \([0-9]*\)$/\1/p' "$out.cli.$i")")
	done
	# The measured traffic: 200 connections, 20 echoes each. Valgrind
	# reads callgrind_control's command only while the program runs: a
	# connection wakes the sleeping engine for it (counted with the rest).
	r0=$(rx "$pid")
	toggle on 0
	netns_exec b "$VS_BUILD/tests/kmany" -r 20 -t 600 -s 10.77.1.121 -b 10 10.77.1.1 "$port" 200 \
		>"$out.meas" 2>&1
	toggle off 1
	r1=$(rx "$pid")
	kill -USR1 "${hold[@]}"
	wait_line "$out.srv" "million: closed" 600
	wait_line "$out.cg" "totals:" 120
	s=$(awk -v src="$PWD/src/" -f bench/callgrind_ir.awk "$out.cg" | awk '/^src/ {print $2}')
	l=$(gawk -f bench/callgrind_lwip.awk -v base=0 -v map=/dev/null -v re=x "$out.cg" | awk '/^lwip/ {print $2}')
	awk -v i="$idle" -v f=$((r1 - r0)) -v s="$s" -v l="$l" \
		'BEGIN { printf "%10d %9d %10.0f %10.0f %10.0f\n", i, f, s / f, l / f, (s + l) / f }'
done
