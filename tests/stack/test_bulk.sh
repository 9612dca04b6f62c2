# stack.bulk: 1 GiB each way between a kernel client and a vstack echo
# server on the emulated ConnectX, every byte checked against the
# sender's stream (IPv4), then 64 MiB over IPv6.
#   test_bulk.sh [MIB]   (default 1024)
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
mib=${1:-1024}
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP/srv" >&2; exit 1; }

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24 fd77:1::1/64
netns_exec a env VSEMU_DIR="$VSEMU_DIR" LD_PRELOAD="$VS_SAN_PRELOAD$VS_BUILD/emu/libvsemu.so" \
	VSTACK_LOG=error "$VS_BUILD/tests/bulk_echo" "$(vs_dev mlx5_0)" 7100 2 >"$VSEMU_TMP/srv" 2>&1 &
srv=$!
wait_for_line "$VSEMU_TMP/srv" ready
netns_exec b "$VS_BUILD/tests/kbulk" 10.77.1.1 7100 "$mib" || fail "IPv4 bulk"
netns_exec b "$VS_BUILD/tests/kbulk" fd77:1::1 7100 64 || fail "IPv6 bulk"
wait "$srv" || fail "the server"
cat "$VSEMU_TMP/srv"
vsemu stats mlx5_0
echo "stack.bulk: ok"
