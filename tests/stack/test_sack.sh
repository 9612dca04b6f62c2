# Loss recovery with a kernel peer that SACKs (Linux's default); frames
# vstack sends are dropped on the cable by the emulator (drop=, the n-th
# full-size frame, counted among the wire's losses); lwIP's counters are
# printed by bulk_echo.
#   test_sack.sh holes   stack.sack: three full-size segments of one
#       window (4 MiB each way): the peer's SACK blocks mark them lost on
#       the scoreboard (lwip/patches/0010) and all are repaired by fast
#       retransmit, no retransmission timeout fires.
#   test_sack.sh tail    stack.tlp: the two full-size segments of a
#       3,000-byte echo, the last data the connection sends: nothing
#       follows that the peer could SACK past them but the short last
#       segment; a tail loss probe (RFC 8985) finds them lost, no
#       retransmission timeout fires, and the transfer ends long before
#       one (200 ms) would have.
#   test_sack.sh small   stack.rack: the first full-size segment of a
#       4,500-byte echo: two segments follow it (the last, short one
#       waits for Nagle), too few for three SACKed above it (DupThresh),
#       but both were sent after it: RACK by transmission order
#       (lwip/patches/0013) finds it lost when they arrive - a fast
#       retransmit, no tail loss probe (fails without the patch: one
#       probe), no timeout.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
what=${1:-holes}
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP/srv" >&2; exit 1; }
case $what in
holes) drops=400/402/404 size=4 ;;
tail) drops=1/2 size=3000b ;;
small) drops=1 size=4500b ;;
*) fail "unknown case $what" ;;
esac

netns_create a b
netns_link a b
[ "$(netns_exec b sysctl -n net.ipv4.tcp_sack)" = 1 ] || fail "the peer does not SACK"
VSEMU_ARGS="--impair-out drop=$drops" vsemu_start a mlx5_0 to_b 10.77.1.1/24
netns_exec a env VSEMU_DIR="$VSEMU_DIR" LD_PRELOAD="$VS_SAN_PRELOAD$VS_BUILD/emu/libvsemu.so" \
	VSTACK_LOG=error "$VS_BUILD/tests/bulk_echo" mlx5_0 7200 1 >"$VSEMU_TMP/srv" 2>&1 &
srv=$!
wait_for_line "$VSEMU_TMP/srv" ready
out=$(netns_exec b timeout 60 "$VS_BUILD/tests/kbulk" 10.77.1.1 7200 "$size") || fail "the transfer"
echo "$out"
wait "$srv" || fail "the server"
vsemu stats mlx5_0 | grep wire_out
lost=$(vsemu stats mlx5_0 | sed -n 's/.*wire_out frames [0-9]* lost \([0-9]*\).*/\1/p')
want=$(tr / '\n' <<<"$drops" | wc -l)
[ "$lost" = "$want" ] || fail "the cable lost $lost frames, $want chosen"
grep recovery "$VSEMU_TMP/srv"
if [ "$what" = small ]; then
	read -r rto fast tlp < <(sed -n 's/^recovery: \([0-9]*\) timeouts, \([0-9]*\) fast retransmits, [0-9]* lost retransmissions, \([0-9]*\) tail loss probes.*/\1 \2 \3/p' "$VSEMU_TMP/srv")
	[ "${tlp:-1}" = 0 ] || fail "$tlp tail loss probes: the hole waited for a probe"
elif [ "$what" = holes ]; then
	# Counted until the peer closes its side: a peer that delays its ACK
	# of the echo's last, short segment can make one timeout after that.
	read -r rto fast < <(sed -n 's/^recovery: .*before the first peer closed: \([0-9]*\) timeouts, \([0-9]*\) fast retransmits/\1 \2/p' "$VSEMU_TMP/srv")
else
	read -r rto fast tlp < <(sed -n 's/^recovery: \([0-9]*\) timeouts, \([0-9]*\) fast retransmits, [0-9]* lost retransmissions, \([0-9]*\) tail loss probes.*/\1 \2 \3/p' "$VSEMU_TMP/srv")
	[ "${tlp:-0}" -ge 1 ] || fail "no tail loss probe"
	secs=$(sed -n 's/.*identical, \([0-9.]*\) s,.*/\1/p' <<<"$out")
	awk -v s="$secs" 'BEGIN { exit !(s < 0.15) }' || fail "the echo took $secs s: as long as a timeout"
fi
[ "$rto" = 0 ] || fail "$rto retransmission timeouts: a hole waited for the timer"
[ "${fast:-0}" -ge 1 ] || fail "no fast retransmit"
case $what in holes) name=sack ;; tail) name=tlp ;; small) name=rack ;; esac
echo "stack.$name: ok"
