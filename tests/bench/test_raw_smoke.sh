# bench.raw_smoke: vstack_raw_lat and vstack_raw_bw run briefly against
# each other on two emulated ports and print their result tables.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24
vsemu_start b mlx5_1 to_a 10.77.1.2/24
m0=02:76:73:00:00:00
run() { local ns=$1; shift; netns_exec "$ns" env VSEMU_DIR="$VSEMU_DIR" \
	LD_PRELOAD="$VS_SAN_PRELOAD$VS_BUILD/emu/libvsemu.so" VSTACK_LOG=error timeout 60 "$@"; }

run a "$VS_BUILD/bench/vstack_raw_lat" -d mlx5_0 --server >"$VSEMU_TMP/ls" 2>&1 &
s=$!
run b "$VS_BUILD/bench/vstack_raw_lat" -d mlx5_1 --client -E $m0 -n 500 >"$VSEMU_TMP/lc" 2>&1 ||
	{ cat "$VSEMU_TMP/lc" >&2; fail "latency client"; }
wait "$s" || fail "latency server"
grep -A1 "t_min\[usec\]" "$VSEMU_TMP/lc"
grep -qE "^ 64 +500 +[0-9.]+" "$VSEMU_TMP/lc" || fail "no latency table"

run a "$VS_BUILD/bench/vstack_raw_bw" -d mlx5_0 --server -q 2 -D 2 >"$VSEMU_TMP/bs" 2>&1 &
s=$!
run b "$VS_BUILD/bench/vstack_raw_bw" -d mlx5_1 --client -E $m0 -q 2 -D 2 >"$VSEMU_TMP/bc" 2>&1 ||
	{ cat "$VSEMU_TMP/bc" >&2; fail "bandwidth client"; }
wait "$s" || { cat "$VSEMU_TMP/bs" >&2; fail "bandwidth server"; }
for side in bc bs; do
	grep -A1 "MsgRate\[Mpps\]" "$VSEMU_TMP/$side"
	grep -qE "^ 64 +[1-9][0-9]* +[0-9.]+ +[0-9.]+ +[0-9.]+" "$VSEMU_TMP/$side" || fail "no bandwidth table ($side)"
done
# VSTACK_LOG=error was set: the hugepage warning must not show.
! grep -q "warn:" "$VSEMU_TMP/lc" "$VSEMU_TMP/bc" || fail "VSTACK_LOG=error did not silence warnings"
echo "bench.raw_smoke: ok"
