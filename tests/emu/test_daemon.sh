# emu.daemon: one vsemu port used by several processes at once; the rules
# of a process killed with SIGKILL die with it; impairment changed at run
# time; and the daemon's own errors are clear.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
rules() { vsemu stats mlx5_0 | sed -n 's/.* \([0-9]*\) rules$/\1/p'; }
no_match() { vsemu stats mlx5_0 | sed -n 's/.*rx_no_match \([0-9]*\).*/\1/p'; }

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24
netns_exec b ping -c 1 -W 2 10.77.1.1 >/dev/null

probe() { # PORT: a probe in the background (so $! is the probe itself:
	  # ip and env exec it), its output in $VSEMU_TMP/PORT
	ip netns exec "$(netns_name a)" env VSEMU_DIR="$VSEMU_DIR" \
		"$VS_BUILD/tests/emu_probe" mlx5_0 "$1" >"$VSEMU_TMP/$1" 2>&1 &
}
send() { netns_exec b bash -c "echo x > /dev/udp/10.77.1.1/$1"; }

# 1. Two processes, each with its own rule, at once.
probe 6001; p1=$!
probe 6002; p2=$!
wait_for_line "$VSEMU_TMP/6001" ready
wait_for_line "$VSEMU_TMP/6002" ready
[ "$(rules)" = 2 ] || fail "expected 2 rules, got $(rules)"
send 6001
send 6002
wait_for_line "$VSEMU_TMP/6001" "qp got"
wait_for_line "$VSEMU_TMP/6002" "qp got"
for port in 6001 6002; do
	wait_for_line "$VSEMU_TMP/$port" removed
	for i in $(seq 20); do
		send $port
		grep -q "kernel got it" "$VSEMU_TMP/$port" && break
		sleep 0.2
	done
done
wait "$p1" && wait "$p2" || fail "a probe failed"

# 2. SIGKILL: the daemon removes the dead process's rule; its traffic goes
#    to the kernel again.
probe 6003; p3=$!
wait_for_line "$VSEMU_TMP/6003" ready
[ "$(rules)" = 1 ] || fail "expected the probe's rule"
kill -9 "$p3"; wait "$p3" 2>/dev/null || true
for i in $(seq 50); do [ "$(rules)" = 0 ] && break; sleep 0.1; done
[ "$(rules)" = 0 ] || fail "the killed process's rule survived"
grep -q "client [0-9]* gone, its rules removed" "$VSEMU_TMP/mlx5_0.log" || fail "no log of the cleanup"
before=$(no_match)
send 6003
for i in $(seq 20); do [ "$(no_match)" -gt "$before" ] && break; sleep 0.1; done
[ "$(no_match)" -gt "$before" ] || fail "traffic to a dead process's port did not reach the kernel"

# 3. Impairment at run time.
vsemu impair mlx5_0 in loss=1
if netns_exec b ping -c 2 -W 1 10.77.1.1 >/dev/null 2>&1; then fail "ping through a cut cable"; fi
vsemu stats mlx5_0 | grep -q "wire_in frames [1-9][0-9]* lost [1-9]" || fail "losses not counted"
vsemu impair mlx5_0 in none
netns_exec b ping -c 1 -W 2 10.77.1.1 >/dev/null || fail "ping after the cable was mended"
vsemu impair mlx5_0 out delay_us=30000
rtt=$(netns_exec b ping -c 1 -W 2 10.77.1.1 | sed -n 's/.*time=\([0-9.]*\).*/\1/p')
awk -v r="$rtt" 'BEGIN { exit !(r >= 30 && r < 200) }' || fail "rtt $rtt ms with 30 ms of delay"
vsemu impair mlx5_0 out none
if out=$(vsemu impair mlx5_0 in loss=2 2>&1); then fail "accepted loss=2"; fi
[ "$out" = "vsemu: impair loss=2: loss=2: expected a probability 0..1" ] || fail "message: $out"

# 4. The daemon's own errors.
if out=$(netns_exec a "$VSEMU_BIN" -d mlx5_0 -w to_b --dir "$VSEMU_DIR" 2>&1); then fail "second daemon"; fi
echo "$out" | grep -q "is already served by another vsemu" || fail "message: $out"
if out=$(netns_exec a "$VSEMU_BIN" -d mlx5_9 -w nosuch0 --dir "$VSEMU_DIR" 2>&1); then fail "no cable"; fi
[ "$out" = "vsemu: no interface 'nosuch0' to use as the cable (see \`ip link\`)" ] || fail "message: $out"
if out=$("$VSEMU_BIN" stats --dir "$VSEMU_DIR" mlx5_7 2>&1); then fail "stats of nothing"; fi
echo "$out" | grep -q "no vsemu serves mlx5_7" || fail "message: $out"
echo "emu.daemon: ok"
