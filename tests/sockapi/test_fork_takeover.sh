#!/bin/bash
# sockapi.fork_takeover: a connection accepted by one process and served
# by another (src/sockapi/move.c), on vstack (LD_PRELOAD): move_probe's
# server writes the first 64 KiB of each response, hands the connection
# on and closes its own copy at once, while the client (the kernel, in
# the peer namespace) sends its 1 MiB request from the moment it
# connected: data in flight both ways when the connection changes
# hands. The one that serves it checks the request byte for byte and
# sends the rest of the 1 MiB response; the client checks it byte for
# byte (nothing lost, nothing twice). Three ways, 8 connections each:
# a forked child serves it; a forked child execs a program that serves
# it (inetd); a helper process receives it over a UNIX socket
# (SCM_RIGHTS). The server's counters: every connection accepted on
# vstack (Tcp.PassiveOpens) and moved (stats moved_out); the parent's
# close did not end it (the client got all of it).
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
probe=$VS_BUILD/tests/move_probe
count=8
fail() {
	echo "FAIL: $*" >&2
	cat "$VSEMU_TMP"/out.* >&2 2>/dev/null || true
	exit 1
}
netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24
port=7300
for mode in fork exec scm; do
	port=$((port + 1))
	VSTACK_LOG=info vstack_exec a mlx5_0 "$probe" server "$port" "$mode" "$count" \
		>"$VSEMU_TMP/out.$mode" 2>&1 &
	wait_for_line "$VSEMU_TMP/out.$mode" "^listening" || fail "$mode: the server did not start"
	srv=$(netns_exec a ss -Htlnp "sport = :$port" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
	[ -n "$srv" ] || fail "$mode: no server pid"
	netns_exec b timeout $((60 * VS_SLOW)) "$probe" client 10.77.1.1 "$port" "$count" \
		>"$VSEMU_TMP/out.$mode.client" 2>&1 || fail "$mode: the client failed"
	wait_for_line "$VSEMU_TMP/out.$mode" "^served" || fail "$mode: the server did not finish"
	opens=$(vs_snmp "$srv" Tcp.PassiveOpens)
	moved=$("$VS_BUILD/src/ctl/vstackctl" stats -p "$srv" |
		awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "moved_out") c = i; next } { s += $c } END { print s + 0 }')
	kill "$srv"
	grep -q "^served $count, 0 failed" "$VSEMU_TMP/out.$mode" || fail "$mode: a server of a connection failed"
	! grep -q "could not be taken" "$VSEMU_TMP/out.$mode" || fail "$mode: a connection was not taken"
	echo "$mode: $count connections, $opens accepted on vstack, $moved moved, every byte checked both ways"
	[ "$opens" -eq "$count" ] || fail "$mode: $opens connections accepted on vstack, not $count"
	[ "$moved" -eq "$count" ] || fail "$mode: $moved connections moved, not $count"
done
echo PASS
