# stack.hostile: a peer with no kernel socket behind it (tests/stack/
# hostile, speaking from 10.77.1.9, an address its kernel does not have)
# against a preloaded redis-server on one engine. After each attack a
# normal kernel client is served within 1 s, and vstackctl stats names
# what was dropped or copied:
#   ooo  96 connections, each sent 600 one-byte segments above a hole
#        (57,600 out-of-order pieces, up to 4,096 kept per connection:
#        more than the 32,768 packet buffers): the pool never runs out (frames are
#        copied out of NIC buffers once under a quarter is free:
#        rx_copied), and every buffer comes back when the peer resets the
#        connections;
#   syn  10,000 SYNs that never complete: at most 4,096 half-open
#        connections, the rest answered with SYN cookies (syn_cookies);
#        the normal client connects through one (syn_cookies_ok).
#   rst  1,000 RSTs and 1,000 SYNs inside one connection's window: at most
#        3 challenge ACKs come back (one per 500 ms, RFC 5961 section 7;
#        vstackctl snmp counts the rest as TcpExt.TCPACKSkippedChallenge),
#        and the connection still answers PING.
#   conns the server may hold 1,000 connections (max_conns); the peer
#        completes 1,500 handshakes: 1,000 stay open, the rest are reset
#        (conn_refused counts them), a normal client is refused at once,
#        and served again once the peer lets its connections go.
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
peer_mac=$(netns_exec b cat /sys/class/net/to_a/address)
port_mac=$(netns_exec a cat /sys/class/net/vsmlx5_0/address)
# vstack answers 10.77.1.9 at the peer's MAC; the peer's kernel drops
# what it gets for an address it does not have.
netns_exec a ip neigh replace 10.77.1.9 lladdr "$peer_mac" dev vsmlx5_0 nud permanent

VSTACK_CORES=1 VSTACK_MAX_CONNS=1000 VSTACK_LOG=info VSTACK_CONTROL_DIR="$VSTACK_CONTROL_DIR" \
	vstack_exec a mlx5_0 redis-server --port 6379 --save "" --appendonly no \
	--protected-mode no --daemonize no --logfile "" >"$VSEMU_TMP/out.redis" 2>&1 &
wait_for_line "$VSEMU_TMP/out.redis" "Ready to accept"
wait_for_line "$VSEMU_TMP/out.redis" "control: serving"

stat() { # COLUMN: its value on core 0
	awk -v c="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
		{ print $k; exit }' <<<"$("$ctl" stats)"
}
# until SECONDS CONDITION...: polls the condition every 0.1 s.
until_true() {
	local end=$(($(date +%s%N) + $1 * 1000000000))
	shift
	while ! "$@"; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.1
	done
}
served() { # a normal client: PING answered within 1 s
	local t0 t1 got
	t0=$(date +%s%N)
	got=$(netns_exec b timeout 5 redis-cli -h 10.77.1.1 ping) || got=none
	t1=$(date +%s%N)
	[ "$got" = PONG ] || fail "$1: the normal client got '$got'"
	[ $(((t1 - t0) / 1000000)) -lt 1000 ] ||
		fail "$1: the normal client waited $(((t1 - t0) / 1000000)) ms"
	echo "  $1: a normal client served in $(((t1 - t0) / 1000000)) ms"
}
hostile() { "$VS_BUILD/tests/hostile" to_a "$port_mac" 10.77.1.9 10.77.1.1 6379 "$@"; }

served before
size=$(stat pool_size)
free0=$(stat pool_free)

# 1. out of order
mkfifo "$VSEMU_TMP/go"
netns_exec b bash -c "$(declare -f hostile); VS_BUILD='$VS_BUILD' port_mac='$port_mac' \
	hostile ooo 96 600 <'$VSEMU_TMP/go'" >"$VSEMU_TMP/out.ooo" 2>&1 &
hpid=$!
exec 3>"$VSEMU_TMP/go"
wait_for_line "$VSEMU_TMP/out.ooo" holding || fail "the out-of-order peer"
copied() { [ "$(stat rx_copied)" -gt 0 ]; }
until_true 20 copied || { "$ctl" stats >&2; "$VSEMU_BIN" stats --dir "$VSEMU_DIR" mlx5_0 >&2; fail "ooo: no frame was copied out of the pool (rx_copied 0)"; }
# Let what is in flight land before judging.
quiet() { local a b; a=$(stat rx_packets); sleep 0.5; b=$(stat rx_packets); [ "$a" = "$b" ]; }
until_true 30 quiet || fail "ooo: the peer's frames kept coming"
free1=$(stat pool_free)
echo "  ooo: pool_free $free1 of $size while held, rx_copied $(stat rx_copied), drop_rx_no_buf $(stat drop_rx_no_buf)"
[ "$free1" -gt $((size / 8)) ] || fail "ooo: the pool ran down to $free1 of $size"
served ooo
echo reset >&3
exec 3>&-
wait "$hpid" || fail "the out-of-order peer failed"
back() { [ "$(stat pool_free)" -ge $((free0 - 96)) ]; }
until_true 10 back || fail "ooo: pool_free $(stat pool_free) after the resets, $free0 before"
echo "  ooo: pool_free back to $(stat pool_free)"

# 2. SYN flood
netns_exec b bash -c "$(declare -f hostile); VS_BUILD='$VS_BUILD' port_mac='$port_mac' \
	hostile syn 10000" >"$VSEMU_TMP/out.syn" 2>&1 || fail "the SYN flood"
# 10,000 SYNs, 4,096 half-open at most: 5,904 or more got cookies
# (fewer if some never reached vstack); vstackctl conns -s counts the
# half-open ones (until lwIP's 20 s SYN-RECV timeout ends them).
cookies() { [ "$(stat syn_cookies)" -ge 5000 ]; }
until_true 20 cookies || fail "syn: syn_cookies $(stat syn_cookies), 5,904 expected"
half=$("$ctl" conns -s --state SYN-RECV | awk '$1 == "all" && $3 == "SYN-RECV" { print $4 }')
echo "  syn: syn_cookies $(stat syn_cookies) (a backlog of 4,096 took the rest), ${half:-0} half-open"
[ "${half:-0}" -le 4096 ] || fail "syn: $half half-open connections, 4,096 at most"
served syn
# The normal client past a full backlog connected through a cookie.
[ "$(stat syn_cookies_ok)" -ge 1 ] || fail "syn: no connection from a cookie"
[ "$(stat drop_syn_cookie)" = 0 ] || fail "syn: cookies refused: $(stat drop_syn_cookie)"

# 3. in-window RSTs and SYNs
netns_exec b bash -c "$(declare -f hostile); VS_BUILD='$VS_BUILD' port_mac='$port_mac' \
	hostile rst 1000" >"$VSEMU_TMP/out.rst" 2>&1 || fail "rst: the peer failed"
acks=$(sed -n 's/^challenge ACKs: \([0-9]*\).*/\1/p' "$VSEMU_TMP/out.rst")
pid=$(netns_pidof a redis-server)
skipped=$(vs_snmp "$pid" TcpExt.TCPACKSkippedChallenge)
echo "  rst: $acks challenge ACKs for 2,000 RSTs and SYNs, $skipped not sent, $(vs_snmp "$pid" TcpExt.TCPChallengeACK) sent"
[ -n "$acks" ] && [ "$acks" -le 3 ] || fail "rst: ${acks:-no} challenge ACKs, 3 at most"
[ "${skipped:-0}" -ge 1900 ] || fail "rst: only ${skipped:-no} challenge ACKs counted as not sent"
served rst

# 4. more connections than max_conns
estab() { "$ctl" conns -s --state ESTAB | awk '$1 == "all" && $2 == "all" { print $4 }'; }
mkfifo "$VSEMU_TMP/go4"
netns_exec b bash -c "$(declare -f hostile); VS_BUILD='$VS_BUILD' port_mac='$port_mac' \
	hostile hold 1500 <'$VSEMU_TMP/go4'" >"$VSEMU_TMP/out.hold" 2>&1 &
hpid=$!
exec 3>"$VSEMU_TMP/go4"
wait_for_line "$VSEMU_TMP/out.hold" holding || fail "conns: the peer"
read -r _ open _ reset _ silent < <(grep '^open' "$VSEMU_TMP/out.hold")
held=$(estab)
echo "  conns: the peer holds $open, $reset reset, $silent unanswered; vstack: ${held:-0} established, conn_refused $(stat conn_refused)"
[ "${held:-0}" -le 1000 ] || fail "conns: ${held:-0} established, max_conns 1000"
[ "$open" -ge 990 ] && [ "$open" -le 1000 ] || fail "conns: the peer holds $open, 990..1000 expected"
[ "$reset" -ge 500 ] || fail "conns: only $reset connections refused"
[ "$(stat conn_refused)" -ge "$reset" ] || fail "conns: conn_refused $(stat conn_refused), $reset refused"
t0=$(date +%s%N)
got=$(netns_exec b timeout 5 redis-cli -h 10.77.1.1 ping 2>&1) || true
ms=$((($(date +%s%N) - t0) / 1000000))
case $got in *refused*) echo "  conns: a normal client refused in $ms ms" ;;
*) fail "conns: the normal client got '$got' past max_conns" ;; esac
[ "$ms" -lt 1000 ] || fail "conns: the refusal took $ms ms"
echo reset >&3
exec 3>&-
wait "$hpid" || fail "conns: the peer failed"
let_go() { [ "${held:-0}" -gt "$(estab)" ] && [ "$(estab)" -le 10 ]; }
until_true 10 let_go || fail "conns: $(estab) still established after the resets"
served conns
echo "stack.hostile: ok"
