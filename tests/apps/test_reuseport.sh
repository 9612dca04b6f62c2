# apps.reuseport: four independent nginx instances (one worker each) on
# one port with `listen ... reuseport` (SO_REUSEPORT), on vstack
# (LD_PRELOAD). Their listeners find one share table by the port's name
# (src/sockapi/share.h) and split the port at the NIC: wrk opens 1,000
# connections from the kernel peer, no socket error, every instance's
# worker accepted a tenth or more on vstack (its snmp Tcp.PassiveOpens).
# Then one instance is killed (kill -9, master and worker): the three
# others take its share and serve wrk again without an error, each a
# tenth or more. On AF_XDP (xdp.workers: a veth with 4 queues, one per
# instance) the dead one's queue is the kernel's until, nobody having
# taken it for 3 s, one of the others adopts it (its log says so).
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
. "$(dirname "$0")/../lib/nginx.sh"
n=4
conns=1000
secs=${APPS_NGINX_SECS:-6}
fail() {
	local i w
	echo "FAIL: $*" >&2
	for i in $(seq $n); do
		w=$(worker_of "$i")
		[ -z "$w" ] || "$VS_BUILD/src/ctl/vstackctl" stats -p "$w" >&2 || true
	done
	for i in $(seq $n); do cat "$VSEMU_TMP/ngx$i/error.log" >&2 2>/dev/null || true; done
	exit 1
}
for p in nginx wrk; do
	command -v "$p" >/dev/null || { echo "$p missing: run scripts/setup"; exit 77; }
done
netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24 fd77:1::1/64
ulimit -n 8192
start() { # instance
	local d=$VSEMU_TMP/ngx$1
	nginx_conf "$d" 1 "user root;"
	sed -i -e "s/listen 8080;/listen 8080 reuseport;/" -e "s/listen \[::\]:8080;/listen [::]:8080 reuseport;/" \
		-e "s/worker_connections 1024;/worker_connections 2048;/" "$d/nginx.conf"
	printf '%01024d' 0 >"$d/www/1k.html"
	VSTACK_LOG=info vstack_exec a mlx5_0 nginx -c "$d/nginx.conf" >"$d/out" 2>&1 &
}
for i in $(seq $n); do start "$i"; done
# Each instance's worker says "listening on vstack" twice (IPv4, IPv6).
ready() {
	local i
	for i in $(seq $n); do
		[ -d "$VSEMU_TMP/ngx$i" ] || continue
		[ "$(cat "$VSEMU_TMP/ngx$i/out" "$VSEMU_TMP/ngx$i/error.log" 2>/dev/null | grep -c 'listening on vstack')" -ge 2 ] || return 1
	done
}
wait_until 30 "every instance's worker on vstack" ready || fail "the workers did not listen on vstack"
worker_of() { # instance: its worker's pid (the master's child)
	local m p
	m=$(cat "$VSEMU_TMP/ngx$1/nginx.pid" 2>/dev/null) || return 0
	for p in $(netns_pidof a nginx); do
		[ "$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null)" = "$m" ] && echo "$p"
	done
	return 0
}
opens() { vs_snmp "$1" Tcp.PassiveOpens 2>/dev/null || echo 0; }
run() { # TAG INSTANCES...
	local tag=$1 i w total=0 line="" kernel
	shift
	declare -A before got
	for i in "$@"; do w=$(worker_of "$i"); [ -n "$w" ] || fail "$tag: instance $i has no worker"; before[$i]=$(opens "$w"); done
	kernel=$(netns_tcp_snmp a PassiveOpens)
	netns_exec b timeout $((secs + 30)) wrk -t2 -c$conns -d"${secs}s" --timeout $((2 * VS_SLOW))s \
		http://10.77.1.1:8080/1k.html >"$VSEMU_TMP/wrk.$tag" 2>&1 || fail "wrk failed: $(cat "$VSEMU_TMP/wrk.$tag")"
	cat "$VSEMU_TMP/wrk.$tag"
	! grep -q 'Socket errors' "$VSEMU_TMP/wrk.$tag" || fail "wrk ($tag) saw socket errors or timeouts"
	for i in "$@"; do
		w=$(worker_of "$i")
		got[$i]=$(($(opens "$w") - before[$i]))
		total=$((total + got[$i]))
		line="$line $i:${got[$i]}"
	done
	kernel=$(($(netns_tcp_snmp a PassiveOpens) - kernel))
	echo "$tag: accepted per instance:$line, total $total; by the kernel: $kernel"
	[ "$kernel" = 0 ] || fail "$tag: the kernel accepted $kernel of wrk's connections"
	[ "$total" -ge "$(wrk_conns_min $conns)" ] || fail "$tag: vstack accepted $total connections, not wrk's $conns or more"
	for i in "$@"; do
		[ $((got[$i] * 10)) -ge "$total" ] || fail "$tag: instance $i accepted ${got[$i]} of $total (under a tenth)"
	done
}
run first $(seq $n)
victim=$(worker_of 1)
kill -KILL "$(cat "$VSEMU_TMP/ngx1/nginx.pid")" "$victim"
echo "instance 1 killed (worker $victim)"
rm -rf "$VSEMU_TMP/ngx1"
if [ "$VS_BACKEND" = xdp ]; then
	# Nobody replaces it: after 3 s a survivor adopts its queue.
	adopted() { cat "$VSEMU_TMP"/ngx*/error.log 2>/dev/null | grep -q 'adopted queue'; }
	wait_until 30 "a survivor to adopt the dead instance's queue" adopted || fail "no survivor adopted the free queue"
	grep -h 'adopted queue' "$VSEMU_TMP"/ngx*/error.log
fi
run second $(seq 2 $n)
for i in $(seq 2 $n); do kill "$(cat "$VSEMU_TMP/ngx$i/nginx.pid")"; done
netns_wait_gone a nginx 30 || fail "nginx did not exit"
echo "apps.reuseport: ok"
