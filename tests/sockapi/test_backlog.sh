# sockapi.backlog: a listener whose accept queue is full (backlog 1, the
# program never accepts): the connections past it are reset — a client
# waiting for the server to speak learns it was not taken — instead of
# being closed with a FIN, which reads as the server's end of stream;
# vstack counts them (snmp TcpExt.ListenOverflows).
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP"/out* >&2 2>/dev/null; exit 1; }
probe=$VS_BUILD/tests/backlog_probe

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24
VSTACK_LOG=info vstack_exec a mlx5_0 "$probe" server 7100 >"$VSEMU_TMP/out.srv" 2>&1 &
wait_for_line "$VSEMU_TMP/out.srv" "listening on vstack" || fail "the server is not on vstack"
pid=$(netns_pidof a backlog_probe)
netns_exec b "$probe" client 10.77.1.1 7100 6 >"$VSEMU_TMP/out.cli" 2>&1
cat "$VSEMU_TMP/out.cli"
! grep -q ": eof$" "$VSEMU_TMP/out.cli" || fail "a connection past the backlog was closed (FIN) after its data was taken"
# Reset after the handshake, or (a SYN that came while lwIP was still
# resetting the last one) refused: either way the client knows.
resets=$(grep -c ": reset$" "$VSEMU_TMP/out.cli" || true)
refused=$(grep -c ": refused$" "$VSEMU_TMP/out.cli" || true)
[ $((resets + refused)) -ge 3 ] ||
	fail "$resets of 6 connections reset and $refused refused, not 3 or more past the backlog"
over=$(vs_snmp "$pid" TcpExt.ListenOverflows)
[ "${over:-0}" -ge "$resets" ] || fail "vstack counted ${over:-no} overflows for $resets resets"
echo "sockapi.backlog: $resets of 6 reset, $over counted"
