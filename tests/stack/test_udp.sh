# stack.udp: the engine's UDP API against the Linux kernel through the
# emulated ConnectX: echo both ways, IPv4 and IPv6, 1, 1000 and 1452
# bytes, 70000 bytes refused (EMSGSIZE). Fragmented datagrams:
# stack.fragments.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP/out" >&2; exit 1; }

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24 fd77:1::1/64
netns_exec b "$VS_BUILD/tests/kudp" echo 7500 6 >"$VSEMU_TMP/kudp" 2>&1 &
wait_for_line "$VSEMU_TMP/kudp" listening
netns_exec a env VSEMU_DIR="$VSEMU_DIR" LD_PRELOAD="$VS_SAN_PRELOAD$VS_BUILD/emu/libvsemu.so" \
	"$VS_BUILD/tests/udp_kernel_peer" "$(vs_dev mlx5_0)" >"$VSEMU_TMP/out" 2>&1 &
prog=$!
wait_for_line "$VSEMU_TMP/out" ready
for addr in 10.77.1.1 fd77:1::1; do
	netns_exec b "$VS_BUILD/tests/kudp" client "$addr" 7400 1 1000 1452 ||
		fail "kernel client to $addr"
done
wait "$prog" || fail "the vstack side"
cat "$VSEMU_TMP/out"
echo "stack.udp: ok"
