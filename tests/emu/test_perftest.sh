# emu.perftest_raw_lat / emu.perftest_raw_bw: unmodified perftest
# (Debian's raw_ethernet_lat / raw_ethernet_bw, LD_PRELOADed with
# libvsemu.so), server and client each in its own namespace on its own
# emulated port, complete and print their result tables.
#   test_perftest.sh lat|bw
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"

kind=$1
tool=raw_ethernet_$kind
command -v "$tool" >/dev/null || { echo "$tool missing: run scripts/setup" >&2; exit 1; }
netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24
vsemu_start b mlx5_1 to_a 10.77.1.2/24

m0=02:76:73:00:00:00
m1=02:76:73:00:00:01
# Latency: a fixed number of round trips. Bandwidth: a duration, as
# perftest recommends for raw Ethernet, where a receiver that falls behind
# loses frames (counted as rx_no_wqe) instead of stalling the sender.
if [ "$kind" = lat ]; then
	iters=2000
	count="-n $iters"
else
	iters='[0-9]+'
	count="-D 3"
fi
# perftest names the client's IP and port with -j/-k and the server's
# with -J/-K, on both sides; -B is the local MAC, -E the peer's.
common="-j 10.0.0.2 -J 10.0.0.1 -k 5001 -K 5000 $count -F"
run() {
	local ns=$1
	shift
	netns_exec "$ns" env LD_PRELOAD="$VS_SAN_PRELOAD$VS_BUILD/emu/libvsemu.so" \
		VSEMU_DIR="$VSEMU_DIR" timeout 60 stdbuf -oL "$@"
}
run a "$tool" -d mlx5_0 -B $m0 -E $m1 $common --server >"$VSEMU_TMP/server" 2>&1 &
server=$!
# Raw Ethernet exchanges nothing before the test (no TCP handshake): the
# server is ready once it printed its result table's header, its queues
# up and receives posted.
wait_for_line "$VSEMU_TMP/server" "#bytes" || exit 1
rc=0
run b "$tool" -d mlx5_1 -B $m1 -E $m0 $common --client 10.77.1.1 >"$VSEMU_TMP/client" 2>&1 || rc=$?
wait "$server" || rc=$?
for side in server client; do
	echo "== $side"
	grep -A2 -E "#bytes" "$VSEMU_TMP/$side" || true
done
vsemu stats mlx5_0
[ "$rc" = 0 ] || { cat "$VSEMU_TMP/server" "$VSEMU_TMP/client" >&2; echo "FAIL: rc=$rc" >&2; exit 1; }
if [ "$kind" = lat ]; then
	header='t_min\[usec\]'
else
	header='BW average\[MB/sec\]'
fi
for side in server client; do
	grep -q "$header" "$VSEMU_TMP/$side" || { echo "FAIL: no table from the $side" >&2; exit 1; }
	grep -qE "^ [0-9]+ +$iters " "$VSEMU_TMP/$side" || { echo "FAIL: the $side reported no result line" >&2; exit 1; }
	! grep -qiE "fail|couldn't" "$VSEMU_TMP/$side" || { echo "FAIL: the $side reported an error" >&2; exit 1; }
done
echo "emu.perftest_raw_$kind: ok"
