# stack.mtu: a netdev whose MTU does not fit vstack's buffers (MTU 4000,
# buffers of 2048 bytes) is refused with a message naming the fix, and
# the program's sockets stay on the kernel (its datagrams still echoed);
# with buffer_size = 9216 vstack takes them and carries 3,900-byte
# datagrams. (Before, lwIP sent segments up to the MTU into 2 KiB
# buffers: an overflow into the next buffer.)
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP"/out* >&2 2>/dev/null; exit 1; }

netns_create a b
netns_link a b
netns_exec a ip link set to_b mtu 4000
netns_exec b ip link set to_a mtu 4000
VSEMU_ARGS="--mtu 4000" vsemu_start a mlx5_0 to_b 10.77.1.1/24
netns_exec a ip link set vsmlx5_0 mtu 4000
echo_case() { # OUT [ENV...]: kudp's echo preloaded, 3 datagrams from b
	local out=$1 p
	shift
	VSTACK_LOG=info vstack_exec a mlx5_0 env "$@" "$VS_BUILD/tests/kudp" echo 7400 3 \
		>"$out" 2>&1 &
	p=$!
	wait_for_line "$out" listening || fail "kudp did not start"
	netns_exec b "$VS_BUILD/tests/kudp" client 10.77.1.1 7400 1 1000 3900 ||
		fail "the echo ($*)"
	wait "$p" || fail "kudp echo ($*)"
}

echo_case "$VSEMU_TMP/out.2048" VSTACK_BUFFERS=4096
cat "$VSEMU_TMP/out.2048"
grep -q "MTU 4000 does not fit buffers of 2048 bytes (MTU 1902 at most); set buffer_size = 9216 (VSTACK_BUFFER_SIZE) or lower the MTU (ip link set vsmlx5_0 mtu 1902)" \
	"$VSEMU_TMP/out.2048" || fail "no message naming the fix"
grep -q "every socket stays on the kernel" "$VSEMU_TMP/out.2048" ||
	fail "the sockets did not stay on the kernel"

echo_case "$VSEMU_TMP/out.9216" VSTACK_BUFFER_SIZE=9216 VSTACK_BUFFERS=4096
cat "$VSEMU_TMP/out.9216"
read -r _ _ _ _ rxd txd <<<"$(vs_carried "$VSEMU_TMP/out.9216")"
[ "${rxd:-0}" -ge 3 ] && [ "${txd:-0}" -ge 3 ] ||
	fail "vstack carried ${rxd:-no}/${txd:-no} datagrams, not the 3 (of up to 3,900 bytes)"
echo "stack.mtu: ok"
