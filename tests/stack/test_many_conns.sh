# stack.many_conns: 10,000 concurrent connections from a kernel client
# to a vstack echo server, all exchanging data, then all closed; lwIP
# holds nothing afterwards (no connection, no TIME_WAIT: the client closed
# first) and no packet buffer is missing.
#   test_many_conns.sh [N]   (default 10000)
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
n=${1:-10000}
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP/srv" >&2; exit 1; }

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24
netns_exec a env VSEMU_DIR="$VSEMU_DIR" LD_PRELOAD="$VS_SAN_PRELOAD$VS_BUILD/emu/libvsemu.so" \
	VSTACK_LOG=error "$VS_BUILD/tests/bulk_echo" "$(vs_dev mlx5_0)" 7600 "$n" >"$VSEMU_TMP/srv" 2>&1 &
srv=$!
wait_for_line "$VSEMU_TMP/srv" ready
netns_exec b "$VS_BUILD/tests/kmany" 10.77.1.1 7600 "$n" || fail "the client"
wait "$srv" || fail "the server"
# The client closed first: the TIME_WAITs are on its side, in its kernel.
echo "kernel client: $(netns_exec b ss -tan state time-wait | tail -n +2 | wc -l) connections in TIME_WAIT"
cat "$VSEMU_TMP/srv"
grep -q "lwIP still holds 0 connections, 0 in TIME_WAIT" "$VSEMU_TMP/srv" ||
	fail "connections left in lwIP"
nums=$(sed -n 's/.*buffers free \([0-9]*\) of \([0-9]*\) (\([0-9]*\) posted, \([0-9]*\) in flight).*/\1 \2 \3 \4/p' "$VSEMU_TMP/srv")
set -- $nums
[ $# = 4 ] && [ $(($1 + $3 + $4)) = "$2" ] || fail "packet buffers leaked ($nums)"
echo "stack.many_conns: ok"
