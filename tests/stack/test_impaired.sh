# stack.impaired: 64 MiB each way under 1% loss, 1% duplication, 1%
# reordering and 0.1% corruption (both directions of the emulated
# ConnectX's cable), byte for byte, once to vstack and once to the
# kernel of the same host through the same cable; both durations and
# their ratio are reported (one line, `impaired: ...`). The ratio is not
# yet a pass/fail criterion: vstack's loss recovery is SACK-triggered
# fast retransmit plus NewReno (lwip/patches 0005, 0006), not yet a full
# RFC 6675 scoreboard or RACK.
#   test_impaired.sh [MIB]   (default 64)
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
mib=${1:-64}
spec=loss=0.01,dup=0.01,reorder=0.01,corrupt=0.001
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP/srv" >&2; exit 1; }

netns_create a b
netns_link a b
VSEMU_ARGS="--impair-in $spec,seed=11 --impair-out $spec,seed=12" \
	vsemu_start a mlx5_0 to_b 10.77.1.1/24
# vstack's echo on 7200; the kernel's own echo (kecho) on 7300, same host.
netns_exec a env VSEMU_DIR="$VSEMU_DIR" LD_PRELOAD="$VS_BUILD/emu/libvsemu.so" \
	VSTACK_LOG=error "$VS_BUILD/tests/bulk_echo" mlx5_0 7200 1 >"$VSEMU_TMP/srv" 2>&1 &
srv=$!
netns_exec a "$VS_BUILD/tests/kecho" 7300 1 >"$VSEMU_TMP/kecho" 2>&1 &
wait_for_line "$VSEMU_TMP/srv" ready
wait_for_line "$VSEMU_TMP/kecho" listening
v=$(netns_exec b timeout 400 "$VS_BUILD/tests/kbulk" 10.77.1.1 7200 "$mib") || fail "through vstack"
k=$(netns_exec b timeout 400 "$VS_BUILD/tests/kbulk" 10.77.1.1 7300 "$mib") || fail "through the kernel"
wait "$srv" || fail "the server"
echo "vstack: $v"
echo "kernel: $k"
secs() { sed -n 's/.*identical, \([0-9.]*\) s,.*/\1/p' <<<"$1"; }
echo "impaired: vstack $(secs "$v") s, kernel $(secs "$k") s, ratio $(awk -v a="$(secs "$v")" -v b="$(secs "$k")" 'BEGIN { printf "%.1f", a / b }')"
vsemu stats mlx5_0
echo "stack.impaired: ok"
