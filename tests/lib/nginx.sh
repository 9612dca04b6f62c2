# SPDX-License-Identifier: MIT
# nginx.sh - an nginx for application tests.
#
#   nginx_conf DIR WORKERS [FIRST_LINE]
#       writes DIR/nginx.conf: WORKERS workers in the foreground, serving
#       DIR/www (made here, world-readable) on port 8080, IPv4 and IPv6;
#       pid, logs and temporary files under DIR. FIRST_LINE goes first
#       (e.g. "user root;").
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
