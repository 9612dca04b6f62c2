#!/bin/bash
# apps.fork_server: a server that accepts in the parent and serves each
# connection in a forked child, on vstack (LD_PRELOAD): Debian's socat,
# `socat TCP-LISTEN:7000,fork,reuseaddr,backlog=64 EXEC:cat` (socat's
# own backlog, 5, is less than the 20 clients that connect at once: a
# full accept queue resets a connection on vstack where Linux drops the
# SYN, docs/sockapi.md). 200 clients from the
# kernel peer, each its own connection and child, 20 at a time, each
# sending 64 KiB of its own bytes and checking the echo byte for byte.
# From vstack's counters: the parent accepted all 200 connections on
# vstack (snmp Tcp.PassiveOpens) and gave each to the child that used
# it (stats moved_out); the children's exit lines say vstack carried the
# bytes both ways (src/sockapi/move.c).
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
clients=${APPS_FORK_CLIENTS:-200}
par=20
fail() {
	cp "$VSEMU_TMP/socat.log" /tmp/fork_server.log 2>/dev/null || true
	echo "FAIL: $*" >&2
	[ -z "${srv:-}" ] || { "$VS_BUILD/src/ctl/vstackctl" stats -p "$srv"; "$VS_BUILD/src/ctl/vstackctl" snmp -p "$srv"; } >&2 || true
	tail -20 "$VSEMU_TMP/socat.log" >&2 || true
	exit 1
}
command -v socat >/dev/null || { echo "socat missing: run scripts/setup"; exit 77; }
netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24 fd77:1::1/64
VSTACK_LOG=info vstack_exec a mlx5_0 socat TCP-LISTEN:7000,fork,reuseaddr,backlog=64 EXEC:cat \
	>"$VSEMU_TMP/socat.log" 2>&1 &
listening() { netns_exec a ss -Htln "sport = :7000" | grep -q .; }
wait_until 10 "socat listening" listening || fail "socat did not listen"
srv=$(netns_pidof a socat)
[ "$(echo "$srv" | wc -w)" -eq 1 ] || fail "not one socat: $srv"

client() { # N: one connection, 64 KiB of bytes of its own, the echo checked
	local f=$VSEMU_TMP/c$1
	head -c 65536 /dev/urandom >"$f.in"
	netns_exec b timeout $((20 * VS_SLOW)) socat -t 10 - TCP:10.77.1.1:7000 <"$f.in" >"$f.out" 2>"$f.err" ||
		{ echo "client $1: socat failed: $(cat "$f.err")" >&2; return 1; }
	cmp -s "$f.in" "$f.out" ||
		{ echo "client $1: echo differs ($(stat -c %s "$f.out") of 65536 bytes back: $(cmp "$f.in" "$f.out" 2>&1 | head -1))" >&2; return 1; }
	rm -f "$f.in" "$f.out" "$f.err"
}
bad=0
for ((i = 0; i < clients; i += par)); do
	pids=()
	for ((j = i; j < i + par && j < clients; j++)); do
		client "$j" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
done
[ "$bad" -eq 0 ] || fail "$bad of $clients clients did not get their bytes back"

opens=$(vs_snmp "$srv" Tcp.PassiveOpens)
moved=$("$VS_BUILD/src/ctl/vstackctl" stats -p "$srv" |
	awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "moved_out") c = i; next } { s += $c } END { print s + 0 }')
echo "socat's parent: $opens connections accepted on vstack, $moved moved to the children that served them"
[ "$opens" -eq "$clients" ] || fail "the parent accepted $opens connections on vstack, not $clients"
[ "$moved" -eq "$clients" ] || fail "$moved connections moved to children, not $clients"
# Each child's exit line: what vstack carried for it (the bytes it took
# over, then echoed).
wait_until 10 "every child's exit line" \
	bash -c "[ \$(grep -c 'exit: vstack carried' '$VSEMU_TMP/socat.log') -ge $clients ]" ||
	fail "not every child said what it carried"
read -r n rx tx < <(sed -n 's/.*exit: vstack carried .* \([0-9]*\) bytes in and \([0-9]*\) out;.*/\1 \2/p' "$VSEMU_TMP/socat.log" |
	awk '{ n++; i += $1; o += $2 } END { print n, i, o }')
echo "children: $n exit lines, $rx bytes in and $tx out on vstack"
[ "$tx" -ge $((clients * 65536)) ] || fail "the children sent $tx bytes on vstack, not ${clients}x65536"
! grep -q "could not be taken" "$VSEMU_TMP/socat.log" || fail "a child could not take its connection"
echo "PASS"
