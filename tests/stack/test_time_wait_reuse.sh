# stack.time_wait_reuse: a client that reuses its port. A vstack server
# closes first (its side goes to TIME_WAIT); a kernel client reconnects
# from the same source port (bound explicitly) 1,000 times in a row.
# Each connection must be established within 100 ms (a SYN above the old
# connection's sequence numbers reopens it: lwip/patches/0002; one in a
# hundred may take up to 2 s, a SYN the loaded machine lost and the
# kernel sent again, where a SYN answered with the old ACK would cost
# every connection a second) and carry its exchange; the last one is
# left in TIME_WAIT on vstack's side.
#   1. vs-http (the native API) answering HTTP/1.0, which it closes; and
#      a raw peer's SYNs to the TIME_WAIT: below the old sequence numbers
#      the old ACK, above them a new connection with a higher ISN;
#   2. redis-server under LD_PRELOAD, the client sending PING and QUIT;
#   3. vstack's outbound connections that close first (kclose, preloaded)
#      keep their TIME_WAIT too, within a quarter of the fd limit.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP"/out* >&2; exit 1; }
command -v redis-server >/dev/null || fail "redis-server missing: run scripts/setup"

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24
export VSTACK_CONTROL_DIR=$VSEMU_TMP/ctl
ctl=$VS_BUILD/src/ctl/vstackctl
reuse() { # PORT LPORT REQUEST REPLY
	netns_exec b timeout 120 "$VS_BUILD/tests/kreuse" 10.77.1.1 "$1" "$2" 1000 "$3" "$4" ||
		fail "reconnecting from port $2 to port $1"
}
# served_pid LOG: the pid of the vstack process that wrote "control:
# serving DIR/PID.sock" into LOG.
served_pid() {
	sed -n 's|.*control: serving .*/\([0-9]*\)\.sock$|\1|p' "$1" | tail -1
}
# stop PID: SIGTERM, and wait (10 s) until it is gone.
stop() {
	kill "$1"
	for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	fail "process $1 did not stop"
}
# time_wait PID LPORT: vstack's side of the last connection is in TIME_WAIT.
time_wait() {
	"$ctl" conns -p "$1" >"$VSEMU_TMP/conns" || fail "vstackctl conns"
	grep -E "^tcp +TIME-WAIT +[^ ]+ +10\.77\.1\.2:$2 " "$VSEMU_TMP/conns" >/dev/null ||
		{ cat "$VSEMU_TMP/conns" >&2; fail "no TIME-WAIT for the client's port $2"; }
}

netns_exec a env VSEMU_DIR="$VSEMU_DIR" LD_PRELOAD="$VS_SAN_PRELOAD$VSEMU_LIB/libvsemu.so" \
	VSTACK_DEVICE=mlx5_0 VSTACK_LOG=info VSTACK_CONTROL_DIR="$VSTACK_CONTROL_DIR" \
	"$VS_BUILD/examples/vs-http" -c 2 8080 >"$VSEMU_TMP/out.http" 2>&1 &
wait_for_line "$VSEMU_TMP/out.http" "control: serving"
http=$(served_pid "$VSEMU_TMP/out.http")
reuse 8080 40001 'GET / HTTP/1.0\r\n\r\n' abcdefghijklmnopqrstuvwxyz
time_wait "$http" 40001
[ "$(kernel_conns a 8080)" = 0 ] || fail "the kernel carried HTTP connections"
# The SYNs Linux tells apart (tests/stack/hostile, from 10.77.1.9, which
# the peer's kernel does not have): below the old sequence, the old ACK;
# above it, a new connection whose ISN is above the old one's.
peer_mac=$(netns_exec b cat /sys/class/net/to_a/address)
port_mac=$(netns_exec a cat /sys/class/net/vsmlx5_0/address)
netns_exec a ip neigh replace 10.77.1.9 lladdr "$peer_mac" dev vsmlx5_0 nud permanent
netns_exec b "$VS_BUILD/tests/hostile" to_a "$port_mac" 10.77.1.9 10.77.1.1 8080 \
	tw $'GET / HTTP/1.0\r\n\r\n' || fail "the SYNs to a TIME_WAIT"
stop "$http"

VSTACK_LOG=info VSTACK_CONTROL_DIR="$VSTACK_CONTROL_DIR" \
	vstack_exec a mlx5_0 redis-server --port 6379 --save "" --appendonly no \
	--protected-mode no --daemonize no --logfile "" >"$VSEMU_TMP/out.redis" 2>&1 &
wait_for_line "$VSEMU_TMP/out.redis" "Ready to accept"
wait_for_line "$VSEMU_TMP/out.redis" "control: serving"
redis=$(served_pid "$VSEMU_TMP/out.redis")
reuse 6379 40002 'PING\r\nQUIT\r\n' '+OK'
time_wait "$redis" 40002
[ "$(kernel_conns a 6379)" = 0 ] || fail "the kernel carried redis connections"
stop "$redis"

# 3. vstack's own outbound connections that close first keep their
# TIME_WAIT (rule and port) too, up to a quarter of the program's file
# descriptors (each holds its port with a kernel socket): with ulimit -n
# 256, 64 of 100; the others end after 2 s.
netns_exec b "$VS_BUILD/tests/kecho" 7500 100 >"$VSEMU_TMP/kecho" 2>&1 &
wait_for_line "$VSEMU_TMP/kecho" listening
mkfifo "$VSEMU_TMP/hold"
(ulimit -n 256
 VSTACK_LOG=info VSTACK_CONTROL_DIR="$VSTACK_CONTROL_DIR" \
	vstack_exec a mlx5_0 "$VS_BUILD/tests/kclose" 10.77.1.2 7500 100 \
	<"$VSEMU_TMP/hold" >"$VSEMU_TMP/out.kclose" 2>&1) &
exec 4>"$VSEMU_TMP/hold"
wait_for_line "$VSEMU_TMP/out.kclose" "closed 100" || fail "the outbound connections"
kclose=$(served_pid "$VSEMU_TMP/out.kclose")
tw_sum() { "$ctl" stats -p "$kclose" | awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "time_wait") k = i; next } { s += $k } END { print s }'; }
lwip_tw() { "$ctl" conns -p "$kclose" | grep -c "^tcp  *TIME-WAIT .*10\.77\.1\.2:7500 " || true; }
[ "$(tw_sum)" = 64 ] || fail "outbound: $(tw_sum) full TIME_WAITs, 64 expected"
short_gone() { [ "$(lwip_tw)" = 64 ]; }
for _ in $(seq 50); do short_gone && break; sleep 0.1; done
short_gone || fail "outbound: $(lwip_tw) TIME-WAITs in lwIP after the short ones' 2 s, 64 expected"
echo "  outbound: 100 closed first, 64 in TIME_WAIT with their ports, the rest ended after 2 s"
exec 4>&-
echo "stack.time_wait_reuse: ok"
