# SPDX-License-Identifier: MIT
# apps.nginx_user: services that do not run as root, on vstack over the
# emulated ConnectX, whose daemon lets group www-data in (vsemu --group):
#  - nginx with `user www-data;`: its workers drop root when they start
#    and keep CAP_NET_RAW alone (libvstack's setuid interposer, docs/
#    sockapi.md); curl and wrk are served, and the workers' own counters
#    (Tcp.PassiveOpens) say vstack accepted the connections;
#  - redis-server started by `vstack run --user redis:www-data`: it runs
#    as redis with CAP_NET_RAW as its only (ambient) capability, answers
#    redis-cli from the peer, on vstack.
# Without the interposer the workers would lose CAP_NET_RAW and stay on
# the kernel ("listening on vstack" never comes).
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
. "$(dirname "$0")/../lib/nginx.sh"
fail() { echo "FAIL: $*" >&2; cat "$d/error.log" "$d/out" "$VSEMU_TMP/redis.out" >&2 2>/dev/null; exit 1; }
for p in nginx wrk curl redis-server redis-cli; do
	command -v "$p" >/dev/null || { echo "$p missing: run scripts/setup"; exit 77; }
done
id www-data >/dev/null && id redis >/dev/null || fail "users www-data and redis: run scripts/setup"
launch=$VS_BUILD/src/ctl/vstack
workers=2
d=$VSEMU_TMP/ngx
nginx_conf "$d" $workers "user www-data;"
echo hello >"$d/www/index.html"
chmod 644 "$d/www/index.html"
# A control directory of each service's own (vstack refuses another
# user's); vstackctl, as root, reads both.
own_dir() { mkdir -p "$1" && chown "$2" "$1" && chmod 700 "$1"; }
own_dir "$VSEMU_TMP/ctl-www" www-data:www-data
own_dir "$VSEMU_TMP/ctl-redis" redis:redis
own_dir "$VSEMU_TMP/redis" redis:redis

netns_create a b
netns_link a b
VSEMU_ARGS="--group www-data" vsemu_start a mlx5_0 to_b 10.77.1.1/24 fd77:1::1/64
VSTACK_CONTROL_DIR=$VSEMU_TMP/ctl-www VSTACK_LOG=info vstack_exec a mlx5_0 \
	nginx -c "$d/nginx.conf" >"$d/out" 2>&1 &
listening() { [ "$(cat "$d/out" "$d/error.log" 2>/dev/null | grep -c 'listening on vstack')" -ge $((2 * workers)) ]; }
wait_until 20 "the workers (www-data) to listen on vstack" listening || fail "the workers did not listen on vstack"
[ "$(netns_exec b curl -s -m 5 http://10.77.1.1:8080/index.html)" = hello ] || fail "GET /index.html"
netns_exec b timeout 30 wrk -t2 -c20 -d3s http://10.77.1.1:8080/index.html >"$d/wrk" 2>&1 || fail "wrk: $(cat "$d/wrk")"
cat "$d/wrk"
! grep -q 'Socket errors' "$d/wrk" || fail "wrk saw socket errors"
m=$(cat "$d/nginx.pid")
opens=0 n=0
for p in $(netns_pidof a nginx); do
	[ "$p" = "$m" ] && continue
	n=$((n + 1))
	[ "$(stat -c %U "/proc/$p")" = www-data ] || fail "worker $p runs as $(stat -c %U "/proc/$p")"
	grep -q '^CapEff:.*0000000000002000$' "/proc/$p/status" || fail "worker $p: $(grep CapEff "/proc/$p/status"), not CAP_NET_RAW alone"
	c=$(VSTACK_CONTROL_DIR=$VSEMU_TMP/ctl-www vs_snmp "$p" Tcp.PassiveOpens) || fail "vstackctl snmp of worker $p"
	opens=$((opens + c))
done
[ $n = $workers ] || fail "$n workers"
echo "nginx: $workers workers as www-data with CAP_NET_RAW alone accepted $opens connections on vstack"
[ "$opens" -ge 21 ] || fail "vstack accepted $opens connections, not curl's and wrk's 21 or more"

netns_exec a env VSEMU_DIR="$VSEMU_DIR" LD_PRELOAD="$VS_SAN_PRELOAD$VSEMU_LIB/libvsemu.so" \
	VSTACK_CONTROL_DIR="$VSEMU_TMP/ctl-redis" VSTACK_LOG=info \
	"$launch" run --user redis:www-data --device mlx5_0 --cores 1 -- \
	redis-server --port 6380 --protected-mode no --save '' --appendonly no --dir "$VSEMU_TMP/redis" >"$VSEMU_TMP/redis.out" 2>&1 &
wait_for_line "$VSEMU_TMP/redis.out" "listening on vstack, port 6380" || fail "redis-server (vstack run --user) not on vstack"
[ "$(netns_exec b redis-cli -h 10.77.1.1 -p 6380 set k v)" = OK ] || fail "redis SET"
[ "$(netns_exec b redis-cli -h 10.77.1.1 -p 6380 get k)" = v ] || fail "redis GET"
r=$(netns_pidof a redis-server)
[ "$(stat -c %U "/proc/$r")" = redis ] || fail "redis-server runs as $(stat -c %U "/proc/$r")"
grep -q '^CapAmb:.*0000000000002000$' "/proc/$r/status" || fail "redis-server: $(grep Cap "/proc/$r/status")"
c=$(VSTACK_CONTROL_DIR=$VSEMU_TMP/ctl-redis vs_snmp "$r" Tcp.PassiveOpens) || fail "vstackctl snmp of redis-server"
echo "redis-server as redis (ambient CAP_NET_RAW): $c connections accepted on vstack"
[ "$c" -ge 2 ] || fail "vstack accepted $c of redis-cli's 2 connections"
kill "$r" "$m"
netns_wait_gone a nginx 30 || fail "nginx did not exit"
echo "apps.nginx_user: ok"
