# stack.kill9 (and xdp.kill9 with VS_BACKEND=xdp): KILL9_ROUNDS times
# (100; 30 under the sanitizers), a preloaded redis-server is killed with SIGKILL in the middle
# of traffic (redis-benchmark from namespace b, its connections accepted
# by vstack). After each kill nothing of it is left: the emulator holds
# no client, queue or rule of it (verbs), or the netdev no XDP program
# and no reaper (xdp). Then a new server starts and serves.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
fail() {
	echo "FAIL: round ${round:-}: $*" >&2
	echo "control sockets: $(ls -a /run/vstack | tr '\n' ' ')" >&2
	tail -20 "$VSEMU_TMP/redis.log" >&2
	exit 1
}
command -v redis-server >/dev/null || { echo "redis-server missing: run scripts/setup"; exit 77; }
# Under the sanitizers' runtime (VS_SLOW) 30 rounds: each is slower
# there, and the races the rounds look for are the gcc stage's to find.
if [ "$VS_SLOW" -gt 1 ]; then rounds=${KILL9_ROUNDS:-30}; else rounds=${KILL9_ROUNDS:-100}; fi

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24

server() {
	# Emptied here, not by the background job's redirection: that may
	# run after the wait below has read the last round's "Ready".
	: >"$VSEMU_TMP/redis.log"
	vstack_exec a mlx5_0 redis-server --port 6379 --save "" --appendonly no \
		--protected-mode no --daemonize no --logfile "" >>"$VSEMU_TMP/redis.log" 2>&1 &
	wait_until 10 "redis to start" grep -q "Ready to accept" "$VSEMU_TMP/redis.log" ||
		fail "redis did not start"
	# One redis-server: on xdp its reaper is forked under its name for a
	# moment before it renames itself.
	one() { pid=$(netns_pidof a redis-server); [ -n "$pid" ] && [ "$(wc -w <<<"$pid")" = 1 ]; }
	wait_until 10 "one redis-server in namespace a" one || fail "no single redis-server in namespace a: ${pid:-none}"
}
accepted() { [ "$(vs_snmp "$pid" Tcp.PassiveOpens)" -ge "$1" ] 2>/dev/null; }
gone() { ! kill -0 "$pid" 2>/dev/null; }
if [ "$VS_BACKEND" = xdp ]; then
	clean() { ! xdp_attached a to_b && [ -z "$(netns_pidof a vstack-reaper)" ]; }
	left() { echo "XDP program: $(xdp_attached a to_b && echo yes || echo no), reaper: $(netns_pidof a vstack-reaper)"; }
else
	# The one client left is `vsemu stats` itself.
	clean() { vsemu stats mlx5_0 | grep -q ": 1 clients, 0 receive queues, 0 rules"; }
	left() { vsemu stats mlx5_0 | head -1; }
fi

for round in $(seq "$rounds"); do
	server
	netns_exec b redis-benchmark -h 10.77.1.1 -c 8 -l -q -t ping,set >/dev/null 2>&1 &
	wait_until 10 "vstack to accept the benchmark's connections" accepted 8 ||
		fail "the benchmark's connections were not accepted"
	kill -9 "$pid"
	wait_until 30 "the server to die" gone || fail "redis-server survived SIGKILL"
	wait_until 30 "the server's resources to go" clean || fail "left behind: $(left)"
	netns_kill b KILL redis-benchmark
	# The kernel's client, killed: in CI twice seen still there after 5
	# and 30 s, not reproduced here (10 ms). Not vstack's to clean (it
	# is in b, on the kernel): what the kernel says of it is shown and
	# the rounds go on; the next round's netns_kill takes it too.
	netns_wait_gone b redis-benchmark 30 ||
		echo "warning: round $round: the killed redis-benchmark is still in b" >&2
done
echo "$rounds servers killed in the middle of traffic, nothing left behind"

server
[ "$(netns_exec b timeout 10 redis-cli -h 10.77.1.1 set k v)" = OK ] || fail "a new server after the kills"
accepted 1 || fail "the new server's connection was not vstack's"
kill "$pid"
echo "a new server serves; stack.kill9 ($VS_BACKEND): ok"
