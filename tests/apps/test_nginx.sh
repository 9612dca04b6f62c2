# apps.nginx: unmodified nginx, 2 worker processes, on vstack
# (LD_PRELOAD): wrk from the kernel peer for 10 s without a socket
# error, and curl downloads a 100 MiB file with the right SHA-256; the
# workers accepted the connections on vstack (snmp Tcp.PassiveOpens,
# summed over the workers: at least curl's 3 and wrk's 20).
# The workers run as root (apps.nginx_user runs them as www-data). On the
# xdp backend (xdp.apps) one worker, which binds one queue and adopts
# the veth's others after 3 s; several workers on AF_XDP, a queue each,
# are xdp.workers' (docs/port.md).
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
. "$(dirname "$0")/../lib/nginx.sh"
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP/ngx/error.log" "$VSEMU_TMP/ngx/out" >&2 2>/dev/null; exit 1; }
for p in nginx wrk curl; do
	command -v "$p" >/dev/null || { echo "$p missing: run scripts/setup"; exit 77; }
done
secs=${APPS_NGINX_SECS:-10}

d=$VSEMU_TMP/ngx
workers=2
[ "$VS_BACKEND" = xdp ] && workers=1
nginx_conf "$d" $workers "user root;"
echo hello >"$d/www/index.html"
head -c $((100 << 20)) /dev/urandom >"$d/www/big.bin"
netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24 fd77:1::1/64
VSTACK_LOG=info vstack_exec a mlx5_0 nginx -c "$d/nginx.conf" >"$d/out" 2>&1 &
# Both workers listen on vstack (IPv4 and IPv6) before the first client:
# a connection the kernel accepted before would lose its frames to the
# new rule (docs/sockapi.md).
for _ in $(seq 100); do
	[ "$(cat "$d/out" "$d/error.log" 2>/dev/null | grep -c 'listening on vstack')" -ge $((2 * workers)) ] && break
	sleep 0.1
done
[ "$(cat "$d/out" "$d/error.log" 2>/dev/null | grep -c 'listening on vstack')" -ge $((2 * workers)) ] || fail "the workers did not listen on vstack" 
[ "$(netns_exec b curl -s -m 5 http://10.77.1.1:8080/index.html)" = hello ] || fail "GET /index.html"
[ "$(netns_exec b curl -s -m 5 'http://[fd77:1::1]:8080/index.html')" = hello ] || fail "GET over IPv6"
want=$(sha256sum <"$d/www/big.bin" | cut -d' ' -f1)
got=$(netns_exec b curl -s -m 300 http://10.77.1.1:8080/big.bin | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "100 MiB download: sha256 $got, expected $want"
echo "100 MiB download: sha256 right"
netns_exec b timeout $((secs + 30)) wrk -t2 -c20 -d"${secs}s" http://10.77.1.1:8080/index.html >"$d/wrk" 2>&1 ||
	fail "wrk failed: $(cat "$d/wrk")"
cat "$d/wrk"
! grep -q 'Socket errors' "$d/wrk" || fail "wrk saw socket errors"
grep -q 'Non-2xx' "$d/wrk" && fail "wrk saw non-2xx answers"
opens=0
for p in $(netns_pidof a nginx); do # the master is no vstack process: 0
	n=$(vs_snmp "$p" Tcp.PassiveOpens 2>/dev/null) || true
	opens=$((opens + ${n:-0}))
done
echo "the workers accepted $opens connections on vstack"
[ "$opens" -ge 23 ] || fail "vstack accepted $opens connections, not the clients' 23 or more"
echo "apps.nginx: ok"
