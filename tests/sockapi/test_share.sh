# sockapi.share [reuseport]: a listener split between forked workers
# while they serve (reuseport: each worker's own listener on the port,
# with SO_REUSEPORT: independent processes) (tests/sockapi/share_probe.c, src/sockapi/share.h). The server
# runs under LD_PRELOAD on the emulated ConnectX, the client on the
# kernel of the peer namespace: connections accepted by one worker keep
# being answered by it while a second worker takes half of the new ones,
# after the first dies, and while a third takes its share from the
# second; new connections spread (a fifth or more each). Each worker
# still alive accepted on vstack (its snmp Tcp.PassiveOpens) every
# connection the client saw it take, and the kernel of the server's
# namespace never held one.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
fail() {
	echo "FAIL: $*" >&2
	cat "$VSEMU_TMP/server" "$VSEMU_TMP/client" >&2 2>/dev/null
	for p in $(netns_pidof a share_probe); do
		"$VS_BUILD/src/ctl/vstackctl" stats -p "$p" >&2 2>/dev/null || true
	done
	exit 1
}

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24 fd77:1::1/64
mode=${1:-}
VSTACK_LOG=${VSTACK_LOG:-info} vstack_exec a mlx5_0 "$VS_BUILD/tests/share_probe" server 7000 $mode >"$VSEMU_TMP/server" 2>&1 &
wait_for_line "$VSEMU_TMP/server" "worker .* started"
# The server is the one whose parent is not a share_probe.
spid=""
for p in $(netns_pidof a share_probe); do
	pp=$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null) || continue
	[ "$(cat "/proc/$pp/comm" 2>/dev/null)" = share_probe ] || spid=$p
done
[ -n "$spid" ] || fail "no server process"
wait_for_line "$VSEMU_TMP/server" "listening on vstack"
rc=0
netns_exec b timeout 120 "$VS_BUILD/tests/share_probe" client 10.77.1.1 7000 "$spid" >"$VSEMU_TMP/client" 2>&1 || rc=$?
cat "$VSEMU_TMP/client"
[ $rc = 0 ] || fail "the client exited $rc"
# Every worker alive accepted on vstack what the client saw it take.
n=0
while read -r _ pid count; do
	pid=${pid%:}
	[ -d "/proc/$pid" ] || continue
	opens=$(vs_snmp "$pid" Tcp.PassiveOpens) || fail "no counters from worker $pid"
	echo "worker $pid: the client saw $count connections, vstack accepted $opens"
	[ "$opens" -ge "$count" ] || fail "worker $pid accepted $opens on vstack, the client saw $count"
	n=$((n + 1))
done < <(grep '^pid [0-9]*: [0-9]*$' "$VSEMU_TMP/client")
[ "$n" = 2 ] || fail "$n workers alive at the end, not 2"
held=$(netns_exec a ss -Htn state established '( sport = :7000 )' | wc -l)
[ "$held" = 0 ] || fail "the kernel of namespace a holds $held connections on port 7000: not offloaded"
grep -q "shared listener: member" "$VSEMU_TMP/server" || fail "no worker said it joined the listener's share"
# The server ends its workers (SIGTERM: they exit, vstack leaves the
# share); a named table (reuseport) goes with its last member.
kill "$spid"
netns_wait_gone a share_probe 30 || fail "the server or a worker did not exit"
if [ "$mode" = reuseport ]; then
	ino=$(stat -L -c %i "/run/netns/$(netns_name a)")
	left=$(ls /dev/shm/vstack-tcp-"$ino"-* 2>/dev/null || true)
	[ -z "$left" ] || fail "the table's file is left behind: $left"
fi
echo "sockapi.share ${mode:-inherited}: ok"
