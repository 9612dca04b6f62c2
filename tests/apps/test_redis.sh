# apps.redis: an unmodified redis-server on vstack (LD_PRELOAD) over the
# emulated ConnectX; from the kernel in the other namespace, redis-cli
# round trips, redis-benchmark's default test set, and -P 16 with 50
# clients, all without an error; vstack accepted the connections (snmp
# Tcp.PassiveOpens: at least redis-cli's 3 and the benchmark's 50).
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
fail() { echo "FAIL: $*" >&2; tail -20 "$VSEMU_TMP/redis.log" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server missing: run scripts/setup"; exit 77; }

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24 fd77:1::1/64
vstack_exec a mlx5_0 redis-server --port 6379 --save "" --appendonly no \
	--protected-mode no --daemonize no --logfile "" >"$VSEMU_TMP/redis.log" 2>&1 &
wait_for_line "$VSEMU_TMP/redis.log" "Ready to accept" || fail "redis did not start"
cli() { netns_exec b timeout 10 redis-cli -h "$@"; }
[ "$(cli 10.77.1.1 set greeting hello)" = OK ] || fail "SET"
[ "$(cli 10.77.1.1 get greeting)" = hello ] || fail "GET"
[ "$(cli fd77:1::1 get greeting)" = hello ] || fail "GET over IPv6"
bench() { # ARGS...: runs redis-benchmark, checks every test reported
	local out=$VSEMU_TMP/bench
	netns_exec b timeout 240 redis-benchmark -h 10.77.1.1 -q "$@" >"$out" 2>&1 ||
		{ cat "$out" >&2; fail "redis-benchmark $*"; }
	tr '\r' '\n' <"$out" | grep -E 'requests per second' >"$out.done"
	! tr '\r' '\n' <"$out" | grep -qiE 'error|refused|reset' ||
		{ cat "$out" >&2; fail "redis-benchmark $* reported errors"; }
	[ -s "$out.done" ] || { cat "$out" >&2; fail "redis-benchmark $*: no result"; }
	sed 's/^/  /' "$out.done"
}
echo "default test set:"
bench -n 2000
echo "-P 16, 50 clients:"
bench -n 50000 -P 16 -c 50 -t set,get
pid=$(netns_pidof a redis-server)
opens=$(vs_snmp "$pid" Tcp.PassiveOpens)
[ "${opens:-0}" -ge 53 ] || fail "vstack accepted ${opens:-no} connections, not the clients' 53 or more"
echo "vstack accepted $opens connections"
kill "$pid" 2>/dev/null || true
echo "apps.redis: ok"
