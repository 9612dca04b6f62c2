#!/usr/bin/env bash
# bench/raw.sh - vstack's port against perftest, on the same emulated
# ConnectX ports, in one run (as root):
#   1. latency: perftest raw_ethernet_lat, then vstack_raw_lat;
#   2. bandwidth: perftest raw_ethernet_bw, then vstack_raw_bw (64 B);
#   3. instructions per packet on the TX and RX fast path, counted by
#      callgrind: vstack's own code (src/) for vstack, perftest's own
#      binary for perftest; the emulator and libraries excluded.
# The emulator's speed is not a product number: only the comparison and
# the instruction counts mean something. bench/README.md has the results.
#   bench/raw.sh [ITERS]     (default 200000 frames for the TX counts)
set -euo pipefail
. "$(dirname "$0")/lib.sh" valgrind
iters=${1:-200000}

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24
vsemu_start b mlx5_1 to_a 10.77.1.2/24
m0=02:76:73:00:00:00
m1=02:76:73:00:00:01
pt="-j 10.0.0.2 -J 10.0.0.1 -k 5001 -K 5000 -F"
in_ns() { local ns=$1; shift; netns_exec "$ns" env LD_PRELOAD="$VS_BUILD/emu/libvsemu.so" VSEMU_DIR="$VSEMU_DIR" VSTACK_LOG=error "$@"; }
table() { grep -A1 "#bytes" "$1" | tail -1; }

# pair NAME SERVER-CMD -- CLIENT-CMD: runs both, prints the client's table.
pair() {
	local name=$1 out=$VSEMU_TMP/$1
	shift
	local srv=() cli=()
	while [ "$1" != -- ]; do srv+=("$1"); shift; done
	shift
	cli=("$@")
	in_ns a "${srv[@]}" >"$out.s" 2>&1 &
	local spid=$!
	sleep 0.5
	in_ns b "${cli[@]}" >"$out.c" 2>&1 || true
	wait "$spid" || true
	printf '%-10s %s\n' "$name" "$(table "$out.c")"
}

echo "== latency, 64 B, 5000 round trips (half round trip, usec)"
echo "           #bytes #iter  t_min  t_max  t_typical  t_avg  t_stdev  99%  99.9%"
pair perftest raw_ethernet_lat -d mlx5_0 -B $m0 -E $m1 $pt -n 5000 --server -- \
	raw_ethernet_lat -d mlx5_1 -B $m1 -E $m0 $pt -n 5000 --client 10.77.1.1
pair vstack "$VS_BUILD/bench/vstack_raw_lat" -d mlx5_0 --server -- \
	"$VS_BUILD/bench/vstack_raw_lat" -d mlx5_1 --client -E $m0 -n 5000

echo
echo "== bandwidth, 64 B, 5 s (client side)"
echo "           #bytes #iterations  BW peak[MB/s]  BW avg[MB/s]  MsgRate[Mpps]"
pair perftest raw_ethernet_bw -d mlx5_0 -B $m0 -E $m1 $pt -s 64 -D 5 --server -- \
	raw_ethernet_bw -d mlx5_1 -B $m1 -E $m0 $pt -s 64 -D 5 --client 10.77.1.1
pair vstack "$VS_BUILD/bench/vstack_raw_bw" -d mlx5_0 --server -D 5 -- \
	"$VS_BUILD/bench/vstack_raw_bw" -d mlx5_1 --client -E $m0 -D 5

cg() { # NS OUT CMD...: the command under callgrind
	local ns=$1 out=$2
	shift 2
	in_ns "$ns" valgrind --tool=callgrind --callgrind-out-file="$out" \
		--compress-strings=no --compress-pos=no "$@"
}
ir() { awk -v src="$2" -v obj="$3" -f bench/callgrind_ir.awk "$1"; }
frames() { table "$1" | awk '{print $2}'; }
per() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b ? a / b : 0 }'; }

echo
echo "== instructions per frame on the fast path (callgrind)"
echo "   runs of N and 2N frames; (instructions(2N) - instructions(N)) / N,"
echo "   so setup and teardown cancel out"
half=$((iters / 2))
cg() { # NS OUT LOG CMD...: the command under callgrind; its log
	local ns=$1 out=$2 log=$3
	shift 3
	in_ns "$ns" valgrind --tool=callgrind --callgrind-out-file="$out" \
		--compress-strings=no --compress-pos=no "$@" >"$log" 2>&1 ||
		echo "   (failed: $*; see $log)" >&2
}
# src/ for vstack (its own code, the emulator excluded); the binary for
# perftest (its own loop, libibverbs and the emulator excluded)
count() { # OUT KIND
	if [ "$2" = vs ]; then
		awk -v src="$PWD/src/" -v obj=/nonexistent/ -f bench/callgrind_ir.awk "$1" | awk '/^src/{print $2}'
	else
		awk -v src=/nonexistent/ -v obj=raw_ethernet_bw -f bench/callgrind_ir.awk "$1" | awk '/^obj/{print $2}'
	fi
}
frames() { table "$1" | awk '{print $2}'; }
tx() { # KIND N: one TX run of N frames; prints frames and instructions
	local out=$VSEMU_TMP/cg.$1.tx.$2
	if [ "$1" = vs ]; then
		cg b "$out" "$out.log" "$VS_BUILD/bench/vstack_raw_bw" -d mlx5_1 \
			--client -E $m0 -n "$2"
	else
		cg b "$out" "$out.log" raw_ethernet_bw -d mlx5_1 -B $m1 -E $m0 \
			$pt -s 64 -n "$2" --client 10.77.1.1
	fi
	echo "$(frames "$out.log") $(count "$out" "$1")"
}
rx() { # KIND SECS: one RX run, fed at full speed by the other port
	local out=$VSEMU_TMP/cg.$1.rx.$2 feeder
	in_ns a "$VS_BUILD/bench/vstack_raw_bw" -d mlx5_0 --client -E $m1 \
		-D $(($2 + 20)) >/dev/null 2>&1 &
	feeder=$!
	if [ "$1" = vs ]; then
		cg b "$out" "$out.log" "$VS_BUILD/bench/vstack_raw_bw" -d mlx5_1 \
			--server -D "$2"
	else
		cg b "$out" "$out.log" raw_ethernet_bw -d mlx5_1 -B $m1 -E $m0 \
			$pt -s 64 -D "$2" --server
	fi
	kill "$feeder" 2>/dev/null; wait "$feeder" 2>/dev/null || true
	echo "$(frames "$out.log") $(count "$out" "$1")"
}
delta() { # "F1 I1" "F2 I2": instructions per frame between the two runs
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x); split(b, y);
		if (y[1] - x[1] > 0) printf "%.1f", (y[2] - x[2]) / (y[1] - x[1]);
		else printf "n/a" }'
}
printf '   %-34s %s\n' "" "instructions/frame"
printf '   %-34s %s\n' "vstack TX (src/)" "$(delta "$(tx vs $half)" "$(tx vs $iters)")"
printf '   %-34s %s\n' "perftest TX (raw_ethernet_bw)" "$(delta "$(tx pt $half)" "$(tx pt $iters)")"
printf '   %-34s %s\n' "vstack RX (src/)" "$(delta "$(rx vs 5)" "$(rx vs 10)")"
printf '   %-34s %s\n' "perftest RX (raw_ethernet_bw)" "$(delta "$(rx pt 5)" "$(rx pt 10)")"
