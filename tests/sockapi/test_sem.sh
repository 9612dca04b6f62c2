# sockapi.*: a semantics program (test_sem.sh PROGRAM) runs on the
# kernel, then under LD_PRELOAD=libvstack.so on the emulated ConnectX;
# both transcripts must be identical, and under vstack the traffic must
# really have been vstack's: the kernel of namespace a never held a TCP
# connection to the peer, and received no UDP datagram.
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
	[ $# = 2 ] && pre=(env LD_PRELOAD="$VS_BUILD/emu/libvsemu.so $VS_BUILD/libvstack.so"
		VSTACK_DEVICE=mlx5_0 VSTACK_LOG=warn)
	local rc=0
	netns_exec a env VSEMU_DIR="$VSEMU_DIR" "${pre[@]}" timeout 120 \
		"$VS_BUILD/tests/$prog" 10.77.1.2 10.77.1.1 >"$1" 2>"$1.err" || rc=$?
	[ $rc = 0 ] || { cat "$1" "$1.err" >&2; fail "$prog ${2:-on the kernel} exited $rc"; }
}
run "$VSEMU_TMP/kernel"
netns_exec a ss -tn state established >"$VSEMU_TMP/ss.before"
(while :; do netns_exec a ss -tn state established | grep -c ':8000' || true; sleep 0.1; done) >"$VSEMU_TMP/ss.during" 2>/dev/null &
watch=$!
udp_in() { netns_exec a awk '/^Udp: [0-9]/ {print $2}' /proc/net/snmp; }
udp0=$(udp_in)
run "$VSEMU_TMP/vstack" preload
udp1=$(udp_in)
kill "$watch" 2>/dev/null || true
wait "$watch" 2>/dev/null || true
cat "$VSEMU_TMP/vstack.err" >&2
diff -u "$VSEMU_TMP/kernel" "$VSEMU_TMP/vstack" || fail "the transcripts differ (- kernel, + vstack)"
[ -s "$VSEMU_TMP/ss.during" ] || fail "the watch of the kernel's connections did not run"
if grep -qv '^0$' "$VSEMU_TMP/ss.during"; then
	fail "the kernel of namespace a had connections to the peer: not offloaded"
fi
[ "$udp1" = "$udp0" ] || fail "the kernel of namespace a received $((udp1 - udp0)) UDP datagrams: not offloaded"
cat "$VSEMU_TMP/vstack"
echo "sockapi: $prog: kernel and vstack agree"
