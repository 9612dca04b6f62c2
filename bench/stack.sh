#!/usr/bin/env bash
# bench/stack.sh - what the engine's TCP fast path costs, on the emulated
# ConnectX against a kernel peer (as root):
#   1. instructions per TCP segment received (a vstack sink fed by a
#      kernel sender) and sent (a vstack source to a kernel receiver),
#      counted by callgrind in vstack's code (src/) and in its lwIP copy;
#      runs of MIB and 2*MIB MiB are differenced, so setup and teardown
#      cancel out; the emulator's instructions are not counted;
#   2. the share of those spent in lwIP's software checksums;
#   3. heap bytes per idle established connection (N connections held).
# Results and their reading: bench/README.md.
#   bench/stack.sh [MIB] [N]      (defaults 8 and 2000)
set -euo pipefail
. "$(dirname "$0")/lib.sh" valgrind gawk
mib=${1:-8} nconn=${2:-2000}

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24
in_a() { netns_exec a env LD_PRELOAD="$VS_BUILD/emu/libvsemu.so" VSEMU_DIR="$VSEMU_DIR" VSTACK_LOG=error "$@"; }
cg() { # OUT CMD...: the command under callgrind, in namespace a
	local out=$1
	shift
	in_a valgrind --tool=callgrind --callgrind-out-file="$out" \
		--compress-strings=no --compress-pos=no "$@"
}
wait_ready() { # FILE: valgrind starts slowly
	for _ in $(seq 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	echo "bench/stack.sh: no '$2' in $1" >&2; cat "$1" >&2; exit 1
}
# lwIP's symbols and PLT entries, for naming its code in the memfd copy
# (the exact file libvstack embeds); the checksum functions are those of
# its inet_chksum.c and the sum it is built with (vs__csum).
lwip_so=$VS_BUILD/libvstack-lwip.embed
lwip_map=$(mktemp)
NETNS_CLEANUP+=("rm -f '$lwip_map'")
{ nm -D --defined-only "$lwip_so" | awk '{print $1, $3}'
  objdump -d -j .plt "$lwip_so" | sed -n 's/^\([0-9a-f]*\) <\(.*\)@plt>:$/\1 \2/p'
} | sort >"$lwip_map"
csum_re='^(vs__csum|lwip_standard_chksum|lwip_chksum_copy|inet_chksum.*|ip6?_chksum_pseudo.*)$'
# FRAMES SRC LWIP CSUM of one run: frames in the direction measured, then
# exclusive instructions in src/, in lwIP's copy, in its checksums.
count() { # OUT LOG DIR(rx|tx)
	local f base
	f=$(sed -n "s/.*frames rx \([0-9]*\) tx \([0-9]*\).*/\1 \2/p" "$2")
	base=$(sed -n 's/^lwip base //p' "$2")
	[ -n "$f" ] && [ -n "$base" ] || { echo "bench/stack.sh: run failed, see $2" >&2; cat "$2" >&2; exit 1; }
	set -- "$1" "$2" "$3" $f
	[ "$3" = rx ] && f=$4 || f=$5
	echo "$f $(awk -v src="$PWD/src/" -f bench/callgrind_ir.awk "$1" | awk '/^src/ {print $2}') $(
		gawk -v base="$base" -v map="$lwip_map" -v re="$csum_re" \
			-f bench/callgrind_lwip.awk "$1" | awk '{printf "%s ", $2}')"
}
rx_run() { # MIB
	local out=$VSEMU_TMP/rx.$1
	cg "$out.cg" "$VS_BUILD/bench/vstack_tcp" mlx5_0 sink 7700 >"$out.log" 2>&1 &
	local p=$!
	wait_ready "$out.log" ready
	netns_exec b "$VS_BUILD/bench/ktcp" send 10.77.1.1 7700 "$1"
	wait "$p"
	count "$out.cg" "$out.log" rx
}
tx_run() { # MIB
	local out=$VSEMU_TMP/tx.$1
	netns_exec b "$VS_BUILD/bench/ktcp" recv 7701 >"$out.k" 2>&1 &
	local k=$!
	wait_ready "$out.k" listening
	cg "$out.cg" "$VS_BUILD/bench/vstack_tcp" mlx5_0 source 10.77.1.2 7701 "$1" >"$out.log" 2>&1
	wait "$k"
	count "$out.cg" "$out.log" tx
}
# "F S L C" of runs N and 2N: per frame, src/ + lwIP (of which checksums)
delta() {
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x); split(b, y); f = y[1] - x[1];
		s = (y[2] - x[2]) / f; l = (y[3] - x[3]) / f; c = (y[4] - x[4]) / f;
		printf "%8d %10.0f %10.0f %10.0f %10.0f %9.1f%%\n", f, s, l, s + l, c, 100 * c / (s + l) }'
}

echo "== instructions per TCP segment (callgrind; runs of $mib and $((2 * mib)) MiB differenced)"
printf '%-28s %8s %10s %10s %10s %10s %10s\n' "" segments "vstack" "lwIP" total "checksums" share
printf '%-28s %s\n' "received (vstack sink)" "$(delta "$(rx_run "$mib")" "$(rx_run $((2 * mib)))")"
printf '%-28s %s\n' "sent (vstack source)" "$(delta "$(tx_run "$mib")" "$(tx_run $((2 * mib)))")"

echo
echo "== memory per idle established connection ($nconn connections)"
in_a "$VS_BUILD/bench/vstack_tcp" mlx5_0 idle 7702 "$nconn" >"$VSEMU_TMP/idle.log" 2>&1 &
p=$!
wait_ready "$VSEMU_TMP/idle.log" ready
netns_exec b "$VS_BUILD/bench/ktcp" hold 10.77.1.1 7702 "$nconn" 3 &
k=$!
wait_ready "$VSEMU_TMP/idle.log" "heap bytes"
wait "$k" "$p"
sed -n 's/^idle: /vstack heap: /p' "$VSEMU_TMP/idle.log"
# The kernel's own per-connection object (struct tcp_sock; socket, file
# and dentry come on top), for comparison.
echo "kernel: struct tcp_sock alone is $(awk '$1 == "TCP" {print $4}' /proc/slabinfo) bytes (slab object size)"
