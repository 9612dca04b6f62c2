# stack.tcp_kernel_peer: the engine's TCP API against the Linux kernel
# through the emulated ConnectX: a vstack echo server answers kernel
# clients, and a vstack client talks to a kernel server; IPv4 and IPv6.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP/out" "$VSEMU_TMP/kecho" >&2; exit 1; }

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24 fd77:1::1/64
netns_exec b "$VS_BUILD/tests/kecho" 8000 2 >"$VSEMU_TMP/kecho" 2>&1 &
wait_for_line "$VSEMU_TMP/kecho" listening
netns_exec a env VSEMU_DIR="$VSEMU_DIR" LD_PRELOAD="$VS_SAN_PRELOAD$VS_BUILD/emu/libvsemu.so" \
	"$VS_BUILD/tests/tcp_kernel_peer" "$(vs_dev mlx5_0)" >"$VSEMU_TMP/out" 2>&1 &
prog=$!
wait_for_line "$VSEMU_TMP/out" ready
for addr in 10.77.1.1 fd77:1::1; do
	got=$(netns_exec b timeout 10 bash -c "exec 3<>/dev/tcp/$addr/7000; echo 'kernel client says hello' >&3; read -t 5 line <&3; echo \"\$line\"; exec 3>&-") ||
		fail "kernel client to $addr"
	[ "$got" = "kernel client says hello" ] || fail "echo from $addr: '$got'"
done
wait "$prog" || fail "the vstack side"
cat "$VSEMU_TMP/out"
echo "stack.tcp_kernel_peer: ok"
