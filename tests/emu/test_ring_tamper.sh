# emu.ring_tamper: a hostile client of the vsemu daemon (ring_tamper.c:
# unsealed or oversized rings, rules before HELLO, an eventfd channel, a
# full channel it never reads, a TX ring with a rewritten header and
# impossible lengths) is refused or survived, and while it stays
# connected the daemon goes on serving another process.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
malformed() { vsemu stats mlx5_0 | sed -n 's/.*tx_malformed \([0-9]*\).*/\1/p'; }

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24
netns_exec b ping -c 1 -W 2 10.77.1.1 >/dev/null

# The hostile client, its stdin a fifo this script holds open.
mkfifo "$VSEMU_TMP/hold"
netns_exec a "$VS_BUILD/tests/ring_tamper" "$VSEMU_DIR/mlx5_0.sock" \
	<"$VSEMU_TMP/hold" >"$VSEMU_TMP/tamper" 2>&1 &
tamper=$!
exec 3>"$VSEMU_TMP/hold"
wait_for_line "$VSEMU_TMP/tamper" ready || fail "the hostile client stopped: $(cat "$VSEMU_TMP/tamper")"
cat "$VSEMU_TMP/tamper"
[ "$(malformed)" -ge 3 ] || fail "tx_malformed is $(malformed), expected the 3 impossible slots"

# Traffic now reaches the hostile client's sniffer, whose full channel
# the daemon must not block on: a well-behaved process is still served,
# and the daemon still answers.
netns_exec b ping -c 20 -i 0.01 -W 2 10.77.1.1 >/dev/null || fail "ping through the port"
ip netns exec "$(netns_name a)" env VSEMU_DIR="$VSEMU_DIR" \
	"$VS_BUILD/tests/emu_probe" mlx5_0 6001 >"$VSEMU_TMP/probe" 2>&1 &
probe=$!
wait_for_line "$VSEMU_TMP/probe" ready
for i in $(seq 50); do
	grep -q "qp got" "$VSEMU_TMP/probe" && break
	netns_exec b bash -c 'echo x > /dev/udp/10.77.1.1/6001'
	sleep 0.1
done
grep -q "qp got" "$VSEMU_TMP/probe" || fail "another client was not served: $(cat "$VSEMU_TMP/probe")"
kill "$probe" 2>/dev/null || true
wait "$probe" 2>/dev/null || true
vsemu stats mlx5_0 | grep -q "2 clients" || fail "the daemon: $(vsemu stats mlx5_0)"

# The hostile client leaves; the daemon is still there.
exec 3>&-
wait "$tamper" || fail "the hostile client failed: $(cat "$VSEMU_TMP/tamper")"
vsemu stats mlx5_0 >/dev/null || fail "the daemon did not survive"
echo "emu.ring_tamper: ok"
