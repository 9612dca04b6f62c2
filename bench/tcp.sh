#!/usr/bin/env bash
# bench/tcp.sh - bulk TCP through vstack and through the kernel of the
# same host, on the same emulated ConnectX cable, one after the other
# (tests/stack/test_impaired.sh: MIB MiB each way, byte for byte; vstack's
# side is bulk_echo on one engine, the kernel's kecho; the client is the
# kernel's kbulk in the other namespace), as root:
#   1. under loss (0.1%, 1%, 5%, with as much duplication and reordering
#      and a tenth as much corruption), both ways;
#   2. with 0, 1 and 5 ms of delay each way and nothing lost.
# Prints a table (seconds, vstack / kernel) and lwIP's recovery counters
# for each case. Results and their reading: bench/README.md.
#   bench/tcp.sh [MIB]      (default 64)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mib=${1:-64}
secs() { sed -n "s/^$1: kbulk: .*identical, \([0-9.]*\) s,.*/\1/p"; }
row() { # LABEL CASE ENV...: runs the case, prints a row
	local label=$1 what=$2 out v k
	shift 2
	out=$(env "$@" bash tests/stack/test_impaired.sh "$what" "$mib" 2>&1) || true
	v=$(secs vstack <<<"$out")
	k=$(secs kernel <<<"$out")
	if [ -z "$v" ] || [ -z "$k" ]; then
		echo "| $label | failed | | | |"
		echo "$out" | tail -5 >&2
		return
	fi
	printf '| %s | %s | %s | %s | %s |\n' "$label" "$v" "$k" \
		"$(awk -v a="$v" -v b="$k" 'BEGIN { printf "%.2f", a / b }')" \
		"$(sed -n 's/^recovery: \([0-9]*\) timeouts, \([0-9]*\) fast retransmits, \([0-9]*\) lost retransmissions, \([0-9]*\) tail loss probes.*/\1 RTO, \2 FR, \3 lost rexmit, \4 TLP/p' <<<"$out" | head -1)"
}
echo "bench/tcp.sh: $mib MiB each way, $(date -u +%F)"
echo
echo "| cable (both ways) | vstack s | kernel s | vstack / kernel | vstack's recovery |"
echo "|---|---|---|---|---|"
for p in 0.001 0.01 0.05; do
	c=$(awk -v p="$p" 'BEGIN { printf "%g", p / 10 }')
	row "loss, dup, reorder $(awk -v p="$p" 'BEGIN { printf "%g%%", p * 100 }'), corrupt $(awk -v c="$c" 'BEGIN { printf "%g%%", c * 100 }')" \
		impaired VS_IMPAIR_SPEC="loss=$p,dup=$p,reorder=$p,corrupt=$c"
done
for d in 0 1000 5000; do
	row "delay $((d / 1000)) ms, no loss" window VS_DELAY_US="$d"
done
