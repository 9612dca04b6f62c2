# apps.iperf3: an iperf3 server on vstack (LD_PRELOAD), the client on
# the kernel in the other namespace: TCP and UDP, both directions (-R).
# The server's exit line proves vstack carried the data (the control
# connection accepted, and TCP's data connection, the bytes or datagrams
# counted); UDP at 50 Mbit/s
# loses under 1 %.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP/srv" "$VSEMU_TMP/cli" >&2; exit 1; }
command -v iperf3 >/dev/null || { echo "iperf3 missing: run scripts/setup"; exit 77; }

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24 fd77:1::1/64
run() { # LABEL CLIENT-ARGS...
	local label=$1 acc rxb txb rxd txd lost total
	shift
	# Emptied here: the background job's own redirection may come after
	# the wait below has read the last run's line.
	: >"$VSEMU_TMP/srv"
	VSTACK_LOG=info vstack_exec a mlx5_0 iperf3 -s -1 --forceflush >>"$VSEMU_TMP/srv" 2>&1 &
	local s=$!
	# vstack takes the listener over at iperf3's first select(), after
	# "Server listening": a client the kernel accepted before would lose
	# its frames to the new rule (docs/sockapi.md).
	wait_for_line "$VSEMU_TMP/srv" "listening on vstack" || fail "$label: no server"
	netns_exec b timeout 60 iperf3 -c 10.77.1.1 -t 3 "$@" >"$VSEMU_TMP/cli" 2>&1 ||
		fail "$label: the client failed"
	wait "$s" || fail "$label: the server failed"
	grep -q receiver "$VSEMU_TMP/cli" || fail "$label: no result"
	printf '%-10s %s\n' "$label" "$(grep receiver "$VSEMU_TMP/cli" | tail -1 | sed 's/  */ /g')"
	# The server's exit line: vstack accepted the control and the data
	# connections and carried the test's data.
	read -r acc _ rxb txb rxd txd <<<"$(vs_carried "$VSEMU_TMP/srv")"
	local want=2 # the control connection, and the data's (TCP)
	case $label in UDP*) want=1 ;; esac
	[ "${acc:-0}" -ge $want ] || fail "$label: vstack accepted ${acc:-no} connections, not iperf3's $want"
	case $label in
	"TCP") [ "$rxb" -ge $((1 << 20)) ] || fail "$label: vstack received $rxb bytes" ;;
	"TCP -R") [ "$txb" -ge $((1 << 20)) ] || fail "$label: vstack sent $txb bytes" ;;
	UDP*)
		# 50 Mbit/s for 3 s on a clean wire: the receiver's loss figure
		# (lost/total) stays under 1 %, and vstack counted the datagrams.
		read -r lost total < <(grep receiver "$VSEMU_TMP/cli" | tail -1 |
			sed -n 's|.* \([0-9]*\)/\([0-9]*\) (.*|\1 \2|p')
		[ -n "$total" ] && [ "$total" -gt 1000 ] || fail "$label: no loss figure"
		[ $((lost * 100)) -lt "$total" ] || fail "$label: $lost of $total datagrams lost"
		if [ "$label" = UDP ]; then
			[ "$rxd" -ge $((total - lost)) ] || fail "$label: vstack received $rxd datagrams of $((total - lost))"
		else
			[ "$txd" -ge "$total" ] || fail "$label: vstack sent $txd datagrams of $total"
		fi
		;;
	esac
}
run "TCP" 
run "TCP -R" -R
run "UDP" -u -b 50M
run "UDP -R" -u -b 50M -R
echo "apps.iperf3: ok"
