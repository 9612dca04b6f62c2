# examples.*: the native API's examples against kernel peers through the
# emulated ConnectX. Nothing in namespace a listens on the kernel, so
# every answer is vstack's.
#   echo      vs-echo, two contexts sharing the listener: 64 MiB echoed
#             byte-exact over IPv4, 1,000 connections at once, IPv6;
#             then run by vstack's threads (-t): 16 MiB, 200 connections
#   udp_echo  vs-udp-echo: datagrams of 1, 1000 and 1452 bytes, IPv4
#             and IPv6
#   http      vs-http (libev loops, two contexts, 1 MiB body): curl gets
#             the exact body over IPv4 and IPv6, HEAD no body, two
#             pipelined requests two answers, wrk 5 s without errors
#             (a 10 s response timeout: a stall, not slowness, is the
#             error; under ASan on 2 busy cores a 1 MiB answer once took
#             over wrk's default 2 s with no loss or retransmission)
#   l2fwd     vs-l2fwd joins host a and host c through two emulated ports
#             in namespace f: ping crosses both ways; from the filtered
#             source address it does not, and the drops are counted
#   load      vs-load (two contexts x 8 connections, 2 s) against kernel
#             servers in namespace b: an epoll echo server and nginx;
#             requests made, none failed
# Each server must also stop on SIGTERM.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
. "$(dirname "$0")/../lib/nginx.sh"
what=$1
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP"/out* >&2; exit 1; }

if [ "$what" != l2fwd ]; then
	netns_create a b
	netns_link a b
	vsemu_start a mlx5_0 to_b 10.77.1.1/24 fd77:1::1/64
fi
native() { # OUT PROGRAM ARGS...: in namespace a on the emulated port
	local out=$1
	shift
	netns_exec a env VSEMU_DIR="$VSEMU_DIR" LD_PRELOAD="$VS_SAN_PRELOAD$VSEMU_LIB/libvsemu.so" \
		VSTACK_DEVICE=mlx5_0 VSTACK_LOG=warn "$@" >"$out" 2>&1
}
gone() { [ -z "$(netns_pidof "$1" "$2")" ]; }
stop() { # NAME [NS]: SIGTERM to NAME in namespace a (or NS), and it must end
	local ns=${2:-a}
	[ -n "$(netns_pidof "$ns" "$1")" ] || fail "$1 is not running in $ns"
	netns_kill "$ns" TERM "$1"
	wait_until 5 "$1 to stop on SIGTERM" gone "$ns" "$1" || fail "$1 did not stop on SIGTERM"
}

case $what in
echo)
	native "$VSEMU_TMP/out" "$VS_BUILD/examples/vs-echo" -c 2 7000 &
	wait_for_line "$VSEMU_TMP/out" ready
	netns_exec b timeout 60 "$VS_BUILD/tests/kbulk" 10.77.1.1 7000 64 ||
		fail "64 MiB echo over IPv4"
	netns_exec b timeout 60 "$VS_BUILD/tests/kmany" 10.77.1.1 7000 1000 ||
		fail "1000 connections"
	netns_exec b timeout 30 "$VS_BUILD/tests/kbulk" fd77:1::1 7000 4 ||
		fail "4 MiB echo over IPv6"
	stop vs-echo
	# The same on vstack's own threads (VS_OPT_THREADS).
	native "$VSEMU_TMP/out.t" "$VS_BUILD/examples/vs-echo" -t -c 2 7000 &
	wait_for_line "$VSEMU_TMP/out.t" "on vstack's threads"
	netns_exec b timeout 60 "$VS_BUILD/tests/kbulk" 10.77.1.1 7000 16 ||
		fail "16 MiB echo, vstack's threads"
	netns_exec b timeout 60 "$VS_BUILD/tests/kmany" 10.77.1.1 7000 200 ||
		fail "200 connections, vstack's threads"
	stop vs-echo
	;;
udp_echo)
	native "$VSEMU_TMP/out" "$VS_BUILD/examples/vs-udp-echo" -c 1 7400 &
	wait_for_line "$VSEMU_TMP/out" ready
	for addr in 10.77.1.1 fd77:1::1; do
		netns_exec b "$VS_BUILD/tests/kudp" client "$addr" 7400 1 1000 1452 ||
			fail "datagrams to $addr"
	done
	stop vs-udp-echo
	;;
http)
	size=1048576
	native "$VSEMU_TMP/out" "$VS_BUILD/examples/vs-http" -c 2 -s $size 8080 &
	wait_for_line "$VSEMU_TMP/out" ready
	want=$(yes abcdefghijklmnopqrstuvwxyz | head -c $size | sha256sum)
	for url in http://10.77.1.1:8080/ 'http://[fd77:1::1]:8080/x'; do
		got=$(netns_exec b curl -sSf --max-time 20 "$url" | sha256sum)
		[ "$got" = "$want" ] || fail "the body from $url differs"
	done
	len=$(netns_exec b curl -sSfI --max-time 5 http://10.77.1.1:8080/ |
		tr -d '\r' | awk -F': ' 'tolower($1) == "content-length" {print $2}')
	[ "$len" = $size ] || fail "HEAD: Content-Length '$len'"
	n=$(netns_exec b timeout 20 bash -c 'exec 3<>/dev/tcp/10.77.1.1/8080
		printf "GET / HTTP/1.1\r\nHost: a\r\n\r\nHEAD / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" >&3
		cat <&3' | grep -ao 'HTTP/1.1 200 OK' | wc -l)
	[ "$n" = 2 ] || fail "two pipelined requests got $n answers"
	netns_exec b wrk -t 2 -c 20 -d 5 --timeout 10s http://10.77.1.1:8080/ >"$VSEMU_TMP/wrk" 2>&1 ||
		fail "wrk: $(cat "$VSEMU_TMP/wrk")"
	cat "$VSEMU_TMP/wrk"
	grep -q 'Socket errors' "$VSEMU_TMP/wrk" && fail "wrk saw socket errors"
	grep -q 'Non-2xx' "$VSEMU_TMP/wrk" && fail "wrk saw non-2xx answers"
	grep -Eq '^ +[0-9]+ requests in' "$VSEMU_TMP/wrk" || fail "wrk made no requests"
	stop vs-http
	;;
load)
	d=$VSEMU_TMP/ngx
	nginx_conf "$d" 1
	echo "hello from nginx" >"$d/www/index.html"
	chmod 644 "$d/www/index.html"
	netns_exec b ip addr add 10.77.1.2/24 dev to_a 2>/dev/null || true
	netns_exec b "$VS_BUILD/bench/epoll_echo" 7000 >"$VSEMU_TMP/echo" 2>&1 &
	netns_exec b nginx -c "$d/nginx.conf" >"$d/out" 2>&1 &
	wait_for_line "$VSEMU_TMP/echo" ready
	served() { netns_exec b curl -s -m 1 -o /dev/null http://127.0.0.1:8080/; }
	wait_until 20 "nginx on the kernel to serve" served || fail "nginx did not start"
	native "$VSEMU_TMP/out" "$VS_BUILD/examples/vs-load" -c 2 -n 8 -d 2 \
		-m echo -s 100 10.77.1.2:7000 || fail "vs-load against the echo server"
	cat "$VSEMU_TMP/out"
	native "$VSEMU_TMP/out" "$VS_BUILD/examples/vs-load" -c 2 -n 8 -d 2 \
		-m http 10.77.1.2:8080 || fail "vs-load against nginx"
	;;
l2fwd)
	netns_create a f c
	netns_link a f
	netns_link f c
	vsemu_start f mlx5_0 to_a 10.77.1.1/24
	vsemu_start f mlx5_1 to_c 10.77.2.1/24
	mac() { netns_exec "$1" cat "/sys/class/net/$2/address"; }
	netns_exec a ip addr add 10.77.9.1/24 dev to_f
	netns_exec a ip addr add 10.77.9.3/24 dev to_f
	netns_exec c ip addr add 10.77.9.2/24 dev to_f
	# The hosts address the forwarder's ports, as with DPDK's l2fwd.
	netns_exec a ip neigh replace 10.77.9.2 lladdr "$(mac f vsmlx5_0)" dev to_f nud permanent
	for src in 10.77.9.1 10.77.9.3; do
		netns_exec c ip neigh replace $src lladdr "$(mac f vsmlx5_1)" dev to_f nud permanent
	done
	netns_exec f env VSEMU_DIR="$VSEMU_DIR" LD_PRELOAD="$VS_SAN_PRELOAD$VSEMU_LIB/libvsemu.so" \
		VSTACK_LOG=warn "$VS_BUILD/examples/vs-l2fwd" -x 10.77.9.3 \
		mlx5_0 "$(mac a to_f)" mlx5_1 "$(mac c to_f)" >"$VSEMU_TMP/out" 2>&1 &
	wait_for_line "$VSEMU_TMP/out" ready
	netns_exec a ping -c 5 -i 0.2 -W 2 -I 10.77.9.1 10.77.9.2 ||
		fail "ping across the forwarder"
	netns_exec a ping -c 3 -i 0.2 -W 1 -I 10.77.9.3 10.77.9.2 &&
		fail "ping from the filtered address crossed"
	stop vs-l2fwd f
	wait_for_line "$VSEMU_TMP/out" forwarded
	read -r fab dab fba < <(awk '/^forwarded/ {print $2, $4, $11}' "$VSEMU_TMP/out")
	[ "$fab" -ge 5 ] && [ "$fba" -ge 5 ] || fail "forwarded $fab and $fba frames"
	[ "$dab" -ge 3 ] || fail "dropped $dab frames of the filtered source"
	;;
esac
cat "$VSEMU_TMP/out"
echo "examples.$what: ok"
