# stack.multi_engine: two engines on two queues of one port. A listener
# shared by both through one RSS rule serves kernel clients on both
# engines; outbound connections from each engine use local ports whose
# RSS hash lands on that engine's queue (no 5-tuple rule), IPv4 and IPv6.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
n=200 out=16
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP/out" "$VSEMU_TMP/kecho" >&2; exit 1; }

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24 fd77:1::1/64
netns_exec b "$VS_BUILD/tests/kecho" 8000 $((2 * out)) >"$VSEMU_TMP/kecho" 2>&1 &
wait_for_line "$VSEMU_TMP/kecho" listening
netns_exec a env VSEMU_DIR="$VSEMU_DIR" LD_PRELOAD="$VS_SAN_PRELOAD$VS_BUILD/emu/libvsemu.so" \
	VSTACK_LOG=error "$VS_BUILD/tests/multi_engine" "$(vs_dev mlx5_0)" $n $out >"$VSEMU_TMP/out" 2>&1 &
prog=$!
wait_for_line "$VSEMU_TMP/out" ready
netns_exec b "$VS_BUILD/tests/kmany" 10.77.1.1 7100 $((n / 2)) || fail "IPv4 clients"
netns_exec b "$VS_BUILD/tests/kmany" fd77:1::1 7100 $((n / 2)) || fail "IPv6 clients"
wait "$prog" || fail "the vstack side"
cat "$VSEMU_TMP/out"
echo "stack.multi_engine: ok"
