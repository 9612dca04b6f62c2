# apps.curl_client: curl on vstack (LD_PRELOAD) fetching 20 MiB from an
# nginx on the kernel in the other namespace, over IPv4 and IPv6; vstack
# carried it (curl's exit line: one connection made, 20 MiB in). With the
# NIC's rule table full, a bound connection falls back to the kernel; so
# does a connection past max_conns.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
. "$(dirname "$0")/../lib/nginx.sh"
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP/ngx/error.log" >&2 2>/dev/null; exit 1; }
for p in nginx curl; do
	command -v "$p" >/dev/null || { echo "$p missing: run scripts/setup"; exit 77; }
done
d=$VSEMU_TMP/ngx
nginx_conf "$d" 1
head -c $((20 << 20)) /dev/urandom >"$d/www/f.bin"
chmod 644 "$d/www/f.bin"
netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24 fd77:1::1/64
netns_exec b ip addr add 10.77.1.2/24 dev to_a 2>/dev/null || true
netns_exec b nginx -c "$d/nginx.conf" >"$d/out" 2>&1 &
served() { netns_exec b curl -s -m 1 -o /dev/null http://127.0.0.1:8080/f.bin; }
wait_until 20 "nginx on the kernel to serve" served || fail "nginx did not start"
want=$(sha256sum <"$d/www/f.bin" | cut -d' ' -f1)
for url in http://10.77.1.2:8080/f.bin 'http://[fd77:1::2]:8080/f.bin'; do
	VSTACK_LOG=info vstack_exec a mlx5_0 curl -s -m 120 -o "$d/got" "$url" 2>"$d/log" ||
		fail "curl $url: $(cat "$d/log")"
	got=$(sha256sum <"$d/got" | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "$url: sha256 $got, expected $want"
	read -r _ con rxb _ <<<"$(vs_carried "$d/log")"
	[ "${con:-0}" -ge 1 ] && [ "${rxb:-0}" -ge $((20 << 20)) ] ||
		fail "$url: vstack carried ${con:-no} connections, ${rxb:-no} bytes in: $(cat "$d/log")"
	echo "$url: 20 MiB, sha256 right, on vstack"
done
# The NIC's rule table full (the emulator refuses every flow rule): a
# connection bound to its port (a 5-tuple rule each) goes to the kernel
# instead of failing, with one warning.
VSTACK_LOG=info vstack_exec a mlx5_0 env VSEMU_FAIL=ibv_create_flow:1+:ENOSPC \
	curl -s -m 60 --local-port 40000-40100 -o "$d/got" http://10.77.1.2:8080/f.bin \
	2>"$d/log" || fail "curl with the rule table full: $(cat "$d/log")"
got=$(sha256sum <"$d/got" | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "rule table full: sha256 $got, expected $want"
grep -q "connect: no room for a flow rule; this connection, and others that meet it, go to the kernel" "$d/log" ||
	fail "rule table full: no warning: $(cat "$d/log")"
read -r _ con _ <<<"$(vs_carried "$d/log")"
[ "${con:-x}" = 0 ] || fail "rule table full: vstack says it carried ${con:-?} connections"
echo "rule table full: the kernel carried the connection"
# max_conns 1: of two transfers at once, the second connection goes to
# the kernel, with one warning.
u=http://10.77.1.2:8080/f.bin
VSTACK_LOG=info VSTACK_MAX_CONNS=1 vstack_exec a mlx5_0 curl -s -m 60 -Z --parallel-immediate \
	-o "$d/got" "$u" -o "$d/got2" "$u" 2>"$d/log" || fail "curl with max_conns 1: $(cat "$d/log")"
for f in got got2; do
	got=$(sha256sum <"$d/$f" | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "max_conns 1: sha256 $got, expected $want"
done
grep -q "connect: max_conns connections are open; this connection, and others that meet it, go to the kernel" "$d/log" ||
	fail "max_conns 1: no warning: $(cat "$d/log")"
read -r _ con _ <<<"$(vs_carried "$d/log")"
[ "${con:-x}" = 1 ] || fail "max_conns 1: vstack says it carried ${con:-?} connections, 1 expected"
echo "max_conns 1: one connection on vstack, the other on the kernel"
echo "apps.curl_client: ok"
