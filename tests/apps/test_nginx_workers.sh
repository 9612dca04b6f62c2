# apps.nginx_workers: nginx with 4 worker processes on vstack
# (LD_PRELOAD), each accepting from the listener the master made and
# forked them with. wrk opens 1,000 connections from the kernel peer:
# no timeouts or socket errors, and every worker accepted at least a
# tenth of them on vstack (its own snmp Tcp.PassiveOpens): on the
# emulated ConnectX the NIC rules split the listener by the peers' source
# ports (src/sockapi/share.h); on AF_XDP (VS_BACKEND=xdp, xdp.workers,
# a veth with 4 queues) each worker holds one queue and serves the
# connections that arrive there.
# Then one worker is killed; nginx's master starts another, which takes
# a share; wrk again: no errors, the new worker and the survivors each
# accepted a tenth or more.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
. "$(dirname "$0")/../lib/nginx.sh"
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP/ngx/error.log" >&2 2>/dev/null; tail -50 "$VSEMU_TMP/ngx/out" >&2 2>/dev/null; exit 1; }
for p in nginx wrk; do
	command -v "$p" >/dev/null || { echo "$p missing: run scripts/setup"; exit 77; }
done
secs=${APPS_NGINX_SECS:-6}
workers=4
conns=1000

d=$VSEMU_TMP/ngx
nginx_conf "$d" $workers "user root;"
sed -i "s/worker_connections 1024;/worker_connections 2048;/" "$d/nginx.conf"
printf '%01024d' 0 >"$d/www/1k.html"
netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24 fd77:1::1/64
ulimit -n 8192
VSTACK_LOG=info vstack_exec a mlx5_0 nginx -c "$d/nginx.conf" >"$d/out" 2>&1 &

# The master's pid (nginx.pid) and its workers (children in namespace a).
master() { cat "$d/nginx.pid" 2>/dev/null; }
workers_of() {
	local m p
	m=$(master)
	for p in $(netns_pidof a nginx); do
		[ "$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null)" = "$m" ] && echo "$p"
	done
	return 0
}
# "listening on vstack" lines so far (a worker's stderr is nginx's
# error log once it runs).
listening() { cat "$d/out" "$d/error.log" 2>/dev/null | grep -c 'listening on vstack' || true; }
# Waits until there are N of them: each worker says it twice (IPv4, IPv6).
wait_listening() {
	local want=$1 i
	for i in $(seq 200); do
		[ "$(listening)" -ge "$want" ] && return 0
		sleep 0.1
	done
	fail "$want 'listening on vstack' lines did not come: $(listening)"
}
opens() { vs_snmp "$1" Tcp.PassiveOpens 2>/dev/null || echo 0; }

run_wrk() {
	local tag=$1
	kernel=$(netns_tcp_snmp a PassiveOpens)
	netns_exec b timeout $((secs + 30)) wrk -t2 -c$conns -d"${secs}s" --timeout $((2 * VS_SLOW))s \
		http://10.77.1.1:8080/1k.html >"$d/wrk.$tag" 2>&1 || fail "wrk failed: $(cat "$d/wrk.$tag")"
	cat "$d/wrk.$tag"
	! grep -q 'Socket errors' "$d/wrk.$tag" || fail "wrk ($tag) saw socket errors or timeouts"
	! grep -q 'Non-2xx' "$d/wrk.$tag" || fail "wrk ($tag) saw non-2xx answers"
}

# Each worker's accepted connections since the counts in $1 (pid=count
# words): every worker at least a tenth of the total.
check_split() {
	local before=$1 tag=$2 p n b total=0 line=""
	declare -A got
	for p in $(workers_of); do
		b=$(echo "$before" | tr ' ' '\n' | awk -F= -v p="$p" '$1 == p { print $2 }')
		n=$(($(opens "$p") - ${b:-0}))
		got[$p]=$n
		total=$((total + n))
		line="$line $p:$n"
	done
	kernel=$(($(netns_tcp_snmp a PassiveOpens) - kernel))
	echo "$tag: accepted per worker (pid:count):$line, total $total; by the kernel: $kernel"
	[ "${#got[@]}" -eq $workers ] || fail "$tag: ${#got[@]} workers, not $workers"
	[ "$kernel" = 0 ] || fail "$tag: the kernel accepted $kernel of wrk's connections"
	[ "$total" -ge "$(wrk_conns_min $conns)" ] || fail "$tag: vstack accepted $total connections, not wrk's $conns or more"
	for p in "${!got[@]}"; do
		[ $((got[$p] * 10)) -ge "$total" ] || fail "$tag: worker $p accepted ${got[$p]} of $total (under a tenth)"
	done
}
counts() { local p; for p in $(workers_of); do echo -n "$p=$(opens "$p") "; done; }

wait_listening $((2 * workers))
[ "$(workers_of | wc -l)" -eq $workers ] || fail "$(workers_of | wc -l) workers, not $workers"
[ "$(netns_exec b curl -s -m 5 http://10.77.1.1:8080/1k.html | wc -c)" -eq 1024 ] || fail "GET /1k.html"
before=$(counts)
run_wrk first
check_split "$before" first
# vstackctl list: the workers, each with its part; the master, which
# never accepts, runs no vstack at all.
list=$("$VS_BUILD/src/ctl/vstackctl" list)
echo "$list"
m=$(master)
echo "$list" | awk -v m="$m" 'NR > 1 && $1 == m { exit 1 }' || fail "the master ($m) runs vstack"
for p in $(workers_of); do
	a=$(echo "$list" | awk -v p="$p" -v m="$m" 'NR > 1 && $1 == p && $(NF - 1) == m { print $NF }')
	[ -n "$a" ] && [ "$a" -ge "$(opens "$p")" ] || fail "vstackctl list: worker $p (parent $m) not there or its accepted count not $(opens "$p"): $list"
done

victim=$(workers_of | head -1)
lines=$(listening)
kill -KILL "$victim"
echo "killed worker $victim"
# nginx's master starts another; it takes a share.
wait_listening $((lines + 2))
for _ in $(seq 100); do
	[ "$(workers_of | wc -l)" -eq $workers ] && ! workers_of | grep -qx "$victim" && break
	sleep 0.1
done
[ "$(workers_of | wc -l)" -eq $workers ] || fail "the master did not replace worker $victim"
before=$(counts)
run_wrk second
check_split "$before" second
echo "apps.nginx_workers: ok"
