# sockapi.*: a semantics program (test_sem.sh PROGRAM) runs on the
# kernel, then under LD_PRELOAD=libvstack.so on the emulated ConnectX;
# both transcripts must be identical, and under vstack the traffic must
# really have been vstack's: the kernel of namespace a never held a TCP
# connection to the peer's port 8000, and received no UDP datagram.
# Each run has SEM_TIMEOUT seconds (50): a hang ends with the transcript
# so far printed, inside ctest's own limit.
# Every kernel TCP socket of namespace a is seen, however short-lived:
# `ss -E` reports each one as it is destroyed, and a snapshot at the end
# lists the ones still there (those of the kernel's own run excepted).
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
prog=$1
fail() { echo "FAIL: $*" >&2; exit 1; }

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24 fd77:1::1/64
netns_exec b ip addr add 10.77.1.2/24 dev to_a 2>/dev/null || true
netns_exec b "$VS_BUILD/tests/sockapi_peer" 8000 >"$VSEMU_TMP/peer" 2>&1 &
wait_for_line "$VSEMU_TMP/peer" listening
run() { # OUT [preload]
	local pre=()
	[ $# = 2 ] && pre=(env LD_PRELOAD="$VS_SAN_PRELOAD$VS_BUILD/emu/libvsemu.so $VS_BUILD/libvstack.so"
		VSTACK_DEVICE=mlx5_0 VSTACK_LOG=warn)
	local rc=0
	# timeout outside the preload: only the program runs vstack (a
	# TSan build's runtime is in our programs alone).
	netns_exec a env VSEMU_DIR="$VSEMU_DIR" timeout "${SEM_TIMEOUT:-50}" "${pre[@]}" \
		"$VS_BUILD/tests/$prog" 10.77.1.2 10.77.1.1 >"$1" 2>"$1.err" || rc=$?
	[ $rc = 0 ] || { cat "$1" "$1.err" >&2; fail "$prog ${2:-on the kernel} exited $rc"; }
}
run "$VSEMU_TMP/kernel"
tuples() { awk '{ print $(NF - 1), $NF }'; }
netns_exec a ss -Htan | tuples | sort -u >"$VSEMU_TMP/ss.before"
netns_exec a stdbuf -oL ss -HtnE >"$VSEMU_TMP/ss.events" 2>/dev/null &
watch=$!
# The watch is on once it reported a socket: a canary, a refused kernel
# connection to port 1 on lo (nothing else runs in namespace a now).
canary() {
	netns_exec a bash -c 'exec 3<>/dev/tcp/127.0.0.1/1' 2>/dev/null || true
	[ -s "$VSEMU_TMP/ss.events" ]
}
wait_until 10 "ss -E to report a socket" canary || fail "the watch of the kernel's sockets did not start"
udp_in() { netns_exec a awk '/^Udp: [0-9]/ {print $2}' /proc/net/snmp; }
udp0=$(udp_in)
run "$VSEMU_TMP/vstack" preload
udp1=$(udp_in)
netns_exec a ss -Htan | tuples | sort -u >"$VSEMU_TMP/ss.after"
kill "$watch" 2>/dev/null || true
wait "$watch" 2>/dev/null || true
cat "$VSEMU_TMP/vstack.err" >&2
diff -u "$VSEMU_TMP/kernel" "$VSEMU_TMP/vstack" || fail "the transcripts differ (- kernel, + vstack)"
kernel=$( (tuples <"$VSEMU_TMP/ss.events"; cat "$VSEMU_TMP/ss.after") | awk '$2 ~ /:8000$/' |
	sort -u | comm -23 - "$VSEMU_TMP/ss.before")
[ -z "$kernel" ] || fail "the kernel of namespace a had connections to the peer: not offloaded: $kernel"
# A program's loopback datagrams are the kernel's: it says how many.
lo=$(sed -n 's/^loopback udp \([0-9]*\)$/\1/p' "$VSEMU_TMP/vstack.err")
[ $((udp1 - udp0)) = "${lo:-0}" ] ||
	fail "the kernel of namespace a received $((udp1 - udp0 - ${lo:-0})) UDP datagrams (besides ${lo:-0} from loopback): not offloaded"
cat "$VSEMU_TMP/vstack"
echo "sockapi: $prog: kernel and vstack agree"
