# sockapi.yield: a program's thread that drives an engine in its waits
# keeps the engine's thread off the engine's lock. A sockperf TCP server
# on vstack (waits spinning for 0.5 s: it never sleeps while the client
# runs) answers 2 s of ping-pong; the engine's lock_waits (vstackctl
# stats) must stay under 1 per 20 round trips. When the engine's thread
# polled the port beside the program's, they waited for each other's
# lock about once per round trip.
# In a ThreadSanitizer tree (tests/tsan/run.sh) sockperf, a C++ program
# that cannot carry the runtime, gives way to our own epoll_echo with
# the same waits, echoing 4 MiB of kbulk's (checked byte for byte): the
# same handoff between the program's thread and the engine's, watched
# by TSan; the rate of lock waits is only printed there (TSan's pace is
# not a program's).
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP/srv" "$VSEMU_TMP/cli" >&2; exit 1; }
command -v sockperf >/dev/null || { echo "sockperf missing: run scripts/setup"; exit 77; }
ctl=$VS_BUILD/src/ctl/vstackctl

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24
if nm -D --undefined-only "$VS_BUILD/libvstack.so" | grep -qw __tsan_init; then
	VSTACK_CORES=1 VSTACK_SPIN_US=500000 vstack_exec a mlx5_0 \
		"$VS_BUILD/bench/epoll_echo" 11111 >"$VSEMU_TMP/srv" 2>&1 &
	wait_for_line "$VSEMU_TMP/srv" ready
	: >"$VSEMU_TMP/cli"
	netns_exec b timeout 120 "$VS_BUILD/tests/kbulk" 10.77.1.1 11111 4 ||
		fail "the 4 MiB echo (TSan)"
	pid=$(netns_pidof a epoll_echo)
	"$ctl" stats -p "$pid" || fail "vstackctl stats"
	[ "$(vs_snmp "$pid" Tcp.PassiveOpens)" -ge 1 ] || fail "the echo was not vstack's"
	echo "sockapi.yield: ok (TSan: epoll_echo)"
	exit 0
fi
VSTACK_CORES=1 VSTACK_SPIN_US=500000 vstack_exec a mlx5_0 \
	sockperf sr --tcp -i 10.77.1.1 -p 11111 >"$VSEMU_TMP/srv" 2>&1 &
srv=$!
wait_for_line "$VSEMU_TMP/srv" "to block on"
pid=$(netns_pidof a sockperf | head -1)
stat() { # COLUMN: its sum over the engines (a failed vstackctl fails the test)
	local out
	out=$("$ctl" stats -p "$pid") || fail "vstackctl stats -p $pid"
	awk -v c="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next } { s += $k } END { if (!k) exit 1; print s + 0 }' <<<"$out" ||
		fail "vstackctl stats has no column $1"
}
# warm-up: vstack takes the listener over in sockperf's first wait
netns_exec b timeout 60 sockperf pp --tcp -i 10.77.1.1 -p 11111 -t 1 >"$VSEMU_TMP/cli" 2>&1 ||
	fail "warm-up ping-pong"
w0=$(stat lock_waits)
netns_exec b timeout 60 sockperf pp --tcp -i 10.77.1.1 -p 11111 -t 2 >"$VSEMU_TMP/cli" 2>&1 ||
	fail "ping-pong"
w1=$(stat lock_waits)
n=$(sed -n 's/.*ReceivedMessages=\([0-9]*\).*/\1/p' "$VSEMU_TMP/cli" | head -1)
[ -n "$n" ] && [ "$n" -gt 1000 ] || fail "ping-pong: too few round trips (${n:-none})"
echo "round trips $n, lock waits $((w1 - w0))"
[ $(((w1 - w0) * 20)) -lt "$n" ] || fail "the engine's lock changed hands $((w1 - w0)) times in $n round trips"
kill "$srv" 2>/dev/null || true
wait "$srv" 2>/dev/null || true
echo "sockapi.yield: ok"
