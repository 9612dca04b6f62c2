# apps.idle_cpu: a preloaded redis-server that served a client on vstack
# (vstackctl snmp: a passive open) and then sits idle for 5 s uses under
# 1% of a core (its engines sleep).
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server missing: run scripts/setup"; exit 77; }

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24
export VSTACK_CONTROL_DIR=$VSEMU_TMP/ctl
vstack_exec a mlx5_0 redis-server --port 6379 --save "" --appendonly no \
	--protected-mode no --daemonize no --logfile "" >"$VSEMU_TMP/redis.log" 2>&1 &
wait_for_line "$VSEMU_TMP/redis.log" "Ready to accept" || fail "redis did not start"
[ "$(netns_exec b timeout 10 redis-cli -h 10.77.1.1 ping)" = PONG ] || fail "PING"
pid=$(netns_pidof a redis-server | head -1)
[ -n "$pid" ] || fail "no redis-server in the namespace"
# The PING was vstack's: its engines run in this process (an idle
# process without vstack would pass the CPU check for nothing).
opens=$("$VS_BUILD/src/ctl/vstackctl" snmp -p "$pid" |
	awk '$1 == "Tcp.PassiveOpens" { print $2 }') || fail "vstackctl snmp -p $pid"
[ "${opens:-0}" -ge 1 ] || fail "vstack accepted no connection (Tcp.PassiveOpens ${opens:-none})"
# CPU time of every thread in ns (schedstat), not in 10 ms ticks: one
# tick more or less was 0.2% of 5 s.
sleep 1
pct=$(cpu_pct "$pid" 5)
echo "idle redis-server on vstack: $pct% of a core over 5 s (redis's own 10 Hz timer included)"
awk -v p="$pct" 'BEGIN { exit !(p < 1) }' || fail "$pct% of a core while idle"
echo "apps.idle_cpu: ok"
