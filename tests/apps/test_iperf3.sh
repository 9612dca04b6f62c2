# apps.iperf3: an iperf3 server on vstack (LD_PRELOAD), the client on
# the kernel in the other namespace: TCP and UDP, both directions (-R).
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP/srv" "$VSEMU_TMP/cli" >&2; exit 1; }
command -v iperf3 >/dev/null || { echo "iperf3 missing: run scripts/setup"; exit 77; }

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24 fd77:1::1/64
run() { # LABEL CLIENT-ARGS...
	local label=$1 conns
	shift
	VSTACK_LOG=info vstack_exec a mlx5_0 iperf3 -s -1 --forceflush >"$VSEMU_TMP/srv" 2>&1 &
	local s=$!
	# vstack takes the listener over at iperf3's first select(), after
	# "Server listening": a client the kernel accepted before would lose
	# its frames to the new rule (docs/sockapi.md).
	wait_for_line "$VSEMU_TMP/srv" "listening on vstack" || fail "$label: no server"
	netns_exec b timeout 60 iperf3 -c 10.77.1.1 -t 3 "$@" >"$VSEMU_TMP/cli" 2>&1 &
	local c=$!
	sleep 1.5
	conns=$(kernel_conns a 5201)
	wait "$c" || fail "$label: the client failed"
	wait "$s" || fail "$label: the server failed"
	[ "$conns" = 0 ] || fail "$label: the kernel had $conns connections: not offloaded"
	grep -q receiver "$VSEMU_TMP/cli" || fail "$label: no result"
	printf '%-10s %s\n' "$label" "$(grep receiver "$VSEMU_TMP/cli" | tail -1 | sed 's/  */ /g')"
}
run "TCP" 
run "TCP -R" -R
run "UDP" -u -b 50M
run "UDP -R" -u -b 50M -R
echo "apps.iperf3: ok"
