# The same transfer through vstack and through the kernel of the same
# host, on the same cable of the emulated ConnectX: 64 MiB each way, byte
# for byte (bulk_echo and kecho, kbulk from the other namespace).
#   test_impaired.sh impaired [MIB]   stack.impaired: 1% loss, 1%
#       duplication, 1% reordering and 0.1% corruption both ways; both
#       durations and their ratio are reported (`impaired: ...`). Fails
#       above 4 times the kernel's time (before the SACK scoreboard and
#       tail loss probes of lwip/patches/0010: 4 to 7 times); the issue's
#       goal, 2 times, is met only in some runs (bench/README.md).
#   test_impaired.sh window [MIB]     stack.window: 5 ms of delay each way
#       (10 ms round trip): vstack must move at least 80% of the kernel's
#       rate (window scaling: an unscaled 64 KiB window would allow
#       6.5 MB/s). Prints `window: ...`.
# bench/tcp.sh runs both with other cables: VS_IMPAIR_SPEC replaces the
# impaired case's spec (both ways), VS_DELAY_US the window case's delay.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
what=${1:-impaired}
mib=${2:-64}
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP/srv" >&2; exit 1; }
case $what in
impaired)
	spec=${VS_IMPAIR_SPEC:-loss=0.01,dup=0.01,reorder=0.01,corrupt=0.001}
	VSEMU_ARGS="--impair-in $spec,seed=11 --impair-out $spec,seed=12" ;;
window)
	VSEMU_ARGS="--impair-in delay_us=${VS_DELAY_US:-5000} --impair-out delay_us=${VS_DELAY_US:-5000}" ;;
*) fail "unknown case $what" ;;
esac

netns_create a b
netns_link a b
VSEMU_ARGS=$VSEMU_ARGS vsemu_start a mlx5_0 to_b 10.77.1.1/24
# vstack's echo on 7200; the kernel's own echo (kecho) on 7300, same host.
netns_exec a env VSEMU_DIR="$VSEMU_DIR" LD_PRELOAD="$VS_SAN_PRELOAD$VS_BUILD/emu/libvsemu.so" \
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
vs=$(secs "$v")
ks=$(secs "$k")
if [ "$what" = impaired ]; then
	echo "impaired: vstack $vs s, kernel $ks s, ratio $(awk -v a="$vs" -v b="$ks" 'BEGIN { printf "%.1f", a / b }')"
	grep recovery "$VSEMU_TMP/srv"
	vsemu stats mlx5_0
	awk -v a="$vs" -v b="$ks" 'BEGIN { exit !(a <= 4 * b) }' ||
		fail "vstack took more than 4 times the kernel's time on the same cable"
else
	echo "window: vstack $vs s, kernel $ks s, vstack moves $(awk -v a="$vs" -v b="$ks" 'BEGIN { printf "%.2f", b / a }') of the kernel's rate"
	awk -v a="$vs" -v b="$ks" 'BEGIN { exit !(b / a >= 0.8) }' ||
		fail "vstack moved less than 80% of the kernel's rate through a 10 ms round trip"
fi
echo "stack.$what: ok"
