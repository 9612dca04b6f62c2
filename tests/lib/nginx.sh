# SPDX-License-Identifier: MIT
# nginx.sh - an nginx for application tests.
#
#   nginx_conf DIR WORKERS [FIRST_LINE]
#       writes DIR/nginx.conf: WORKERS workers in the foreground, serving
#       DIR/www (made here, world-readable) on port 8080, IPv4 and IPv6;
#       pid, logs and temporary files under DIR. FIRST_LINE goes first
#       (e.g. "user root;").
#   wrk_conns_min CONNS
#       the fewest connections of `wrk -cCONNS` a server must have
#       accepted: all of them; under the sanitizers (VS_SLOW) 1% fewer.
#       wrk reports no connection whose handshake did not complete in
#       its run, and a SYN is retried at 1 and 3 s only (Linux choosing
#       another queue each time); under the sanitizers, with 1,000
#       connections opening at once on two cores, a few SYNs of the
#       three reach a server too late. The tests check that none went
#       to the kernel (its Tcp PassiveOpens) apart from this.
nginx_conf() {
	local d=$1 workers=$2 first=${3:-}
	mkdir -p "$d/www"
	chmod 755 "$(dirname "$d")" "$d" "$d/www"
	cat >"$d/nginx.conf" <<CONF
$first
worker_processes $workers;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	server { listen 8080; listen [::]:8080; root $d/www; }
	client_body_temp_path $d/body;
	proxy_temp_path $d/proxy;
	fastcgi_temp_path $d/fcgi;
	uwsgi_temp_path $d/uwsgi;
	scgi_temp_path $d/scgi;
}
CONF
}

wrk_conns_min() {
	if [ "$VS_SLOW" -gt 1 ]; then echo $(($1 - $1 / 100)); else echo "$1"; fi
}
