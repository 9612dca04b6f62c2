# stack.sack: three full-size segments of one window that vstack sends
# are dropped on the cable (the emulator's drop=, counted among the
# wire's losses), under a kernel peer that SACKs (Linux's default): the
# holes are repaired by fast retransmit - the peer's SACK blocks signal
# the first loss, NewReno's partial ACKs the next ones - and no
# retransmission timeout fires (lwIP's counters, printed by bulk_echo).
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP/srv" >&2; exit 1; }

netns_create a b
netns_link a b
[ "$(netns_exec b sysctl -n net.ipv4.tcp_sack)" = 1 ] || fail "the peer does not SACK"
VSEMU_ARGS="--impair-out drop=400/402/404" vsemu_start a mlx5_0 to_b 10.77.1.1/24
netns_exec a env VSEMU_DIR="$VSEMU_DIR" LD_PRELOAD="$VS_SAN_PRELOAD$VS_BUILD/emu/libvsemu.so" \
	VSTACK_LOG=error "$VS_BUILD/tests/bulk_echo" mlx5_0 7200 1 >"$VSEMU_TMP/srv" 2>&1 &
srv=$!
wait_for_line "$VSEMU_TMP/srv" ready
netns_exec b timeout 60 "$VS_BUILD/tests/kbulk" 10.77.1.1 7200 4 || fail "the transfer"
wait "$srv" || fail "the server"
vsemu stats mlx5_0 | grep wire_out
lost=$(vsemu stats mlx5_0 | sed -n 's/.*wire_out frames [0-9]* lost \([0-9]*\).*/\1/p')
[ "$lost" = 3 ] || fail "the cable lost $lost frames, 3 chosen"
grep recovery "$VSEMU_TMP/srv"
# Counted until the peer closes its side: a peer that delays its ACK of
# the echo's last, short segment can make one timeout after that.
read -r rto fast < <(sed -n 's/^recovery: .*before the first peer closed: \([0-9]*\) timeouts, \([0-9]*\) fast retransmits/\1 \2/p' "$VSEMU_TMP/srv")
[ "$rto" = 0 ] || fail "$rto retransmission timeouts: a hole waited for the timer"
[ "${fast:-0}" -ge 1 ] || fail "no fast retransmit"
echo "stack.sack: ok"
