# stack.window: one connection each way on a cable with 5 ms of delay
# each way (10 ms round trip), 64 MiB each way through vstack and through
# the kernel of the same host, same cable: vstack must move at least 80%
# of what the kernel moves in the same time (window scaling: an unscaled
# 64 KiB window would allow 6.5 MB/s). Prints `window: ...`.
#   test_window.sh [MIB]   (default 64)
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
mib=${1:-64}
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP/srv" >&2; exit 1; }

netns_create a b
netns_link a b
VSEMU_ARGS="--impair-in delay_us=5000 --impair-out delay_us=5000" \
	vsemu_start a mlx5_0 to_b 10.77.1.1/24
netns_exec a env VSEMU_DIR="$VSEMU_DIR" LD_PRELOAD="$VS_BUILD/emu/libvsemu.so" \
	VSTACK_LOG=error "$VS_BUILD/tests/bulk_echo" mlx5_0 7200 1 >"$VSEMU_TMP/srv" 2>&1 &
srv=$!
netns_exec a "$VS_BUILD/tests/kecho" 7300 1 >"$VSEMU_TMP/kecho" 2>&1 &
wait_for_line "$VSEMU_TMP/srv" ready
wait_for_line "$VSEMU_TMP/kecho" listening
v=$(netns_exec b timeout 120 "$VS_BUILD/tests/kbulk" 10.77.1.1 7200 "$mib") || fail "through vstack"
k=$(netns_exec b timeout 120 "$VS_BUILD/tests/kbulk" 10.77.1.1 7300 "$mib") || fail "through the kernel"
wait "$srv" || fail "the server"
echo "vstack: $v"
echo "kernel: $k"
secs() { sed -n 's/.*identical, \([0-9.]*\) s,.*/\1/p' <<<"$1"; }
vs=$(secs "$v")
ks=$(secs "$k")
echo "window: vstack $vs s, kernel $ks s, vstack moves $(awk -v a="$vs" -v b="$ks" 'BEGIN { printf "%.2f", b / a }') of the kernel's rate"
awk -v a="$vs" -v b="$ks" 'BEGIN { exit !(b / a >= 0.8) }' ||
	fail "vstack moved less than 80% of the kernel's rate through a 10 ms round trip"
echo "stack.window: ok"
