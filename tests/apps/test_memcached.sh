# apps.memcached: an unmodified multi-threaded server on vstack. memcached
# with four worker threads (each in epoll_wait on its own set; the
# listener thread hands connections over through a pipe) preloaded; from
# the kernel of the peer namespace, memcslap's 32 connections set every
# key without a timeout or an error, and memccapable's protocol checks
# pass; vstack accepted the connections (snmp Tcp.PassiveOpens).
# A readiness change lost between a worker's look at its set and its
# sleep left requests unanswered until the client gave up (5 s): with
# that bug put back, 3 of 3 runs set 607,833-639,657 keys of 640,000.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
fail() { echo "FAIL: $*" >&2; tail -20 "$VSEMU_TMP/mc.log" >&2; exit 1; }
for p in memcached memcslap memccapable; do
	command -v $p >/dev/null || { echo "$p missing: run scripts/setup"; exit 77; }
done
ctl=$VS_BUILD/src/ctl/vstackctl
CONC=32 EACH=${MEMCACHED_EACH:-20000}

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24
VSTACK_LOG=info vstack_exec a mlx5_0 memcached -u root -t 4 -p 11211 -U 0 \
	-l 10.77.1.1 >"$VSEMU_TMP/mc.log" 2>&1 &
wait_for_line "$VSEMU_TMP/mc.log" "listening on vstack" || fail "memcached is not on vstack"
pid=$(netns_pidof a memcached | head -1)
out=$VSEMU_TMP/slap
netns_exec b timeout 240 memcslap --servers=10.77.1.1:11211 --concurrency=$CONC \
	--execute-number="$EACH" >"$out" 2>&1 || { cat "$out" >&2; fail "memcslap"; }
grep -E "Time to set" "$out" | sed 's/^/  /'
! grep -qiE "error|timeout|failure" "$out" || { cat "$out" >&2; fail "memcslap reported errors"; }
set=$(sed -n 's/.*Time to set *\([0-9]*\) keys.*/\1/p' "$out")
[ "${set:-0}" = $((CONC * EACH)) ] || fail "memcslap set ${set:-no} keys of $((CONC * EACH))"
netns_exec b timeout 120 memccapable -h 10.77.1.1 -p 11211 >"$out" 2>&1 ||
	{ cat "$out" >&2; fail "memccapable"; }
grep -c "\[pass\]" "$out" | sed 's/^/  memccapable: /; s/$/ pass/'
! grep -q "\[FAIL\]" "$out" || { cat "$out" >&2; fail "memccapable"; }
opens=$("$ctl" snmp -p "$pid" | awk '$1 == "Tcp.PassiveOpens" { print $2 }') ||
	fail "vstackctl snmp -p $pid"
[ "${opens:-0}" -ge "$CONC" ] || fail "vstack accepted ${opens:-no} connections, not memcslap's $CONC"
kill "$pid" 2>/dev/null || true
echo "apps.memcached: ok"
