#!/usr/bin/env bash
# bench/apps.sh - unmodified applications on vstack and on the kernel,
# side by side in one run, on the same pair of namespaces and the same
# emulated ConnectX (as root):
#   1. redis-benchmark (SET/GET, 50 clients; with -P 1 and -P 16):
#      requests/s and p99;
#   2. syscalls per request of the redis-server process, all threads
#      (the kernel's syscall tracepoints by perf stat during a SET/GET
#      run; strace -c -f where tracefs cannot be mounted);
#   3. sockperf ping-pong latency, UDP and TCP;
#   4. iperf3 TCP throughput;
#   5. memcached -t 4 (four worker threads, each in its own epoll_wait)
#      under memcslap --concurrency=32: the time to set every key, and
#      the server's CPU time;
#   6. nginx with 2 worker processes sharing its listener, wrk with 50
#      and 1,000 connections for NGINX_SECS (8) seconds each against a
#      1 KiB file: requests/s, socket errors and timeouts, and how many
#      connections each worker accepted on vstack;
#   7. dnsmasq (one thread, 1,000 names from its hosts file) under
#      dnsperf at full rate (4 clients, 100 queries outstanding) for
#      DNS_SECS (10) seconds: queries/s, mean latency, queries lost, the
#      server's CPU time and syscalls per query.
# APPS_ONLY="redis sockperf iperf3 memcached nginx dns" runs only those sections;
# MEMCACHED_EACH sets memcslap's --execute-number (default 20000).
# The emulated ConnectX's speed is not a product number: both servers go
# through it (vstack by raw queues, the kernel by its netdev), so only
# the ratios and the syscall counts mean something. With VS_BACKEND=xdp
# the same run uses the xdp backend on the veth itself (no emulator):
# the comparison with the kernel that means something on this machine
# (NETNS_QUEUES sets the veth's queues, VSTACK_CORES vstack's engines).
# bench/README.md has the results.
#   bench/apps.sh [REQUESTS]                 (default 100000)
#   VS_BACKEND=xdp bench/apps.sh [REQUESTS]
set -euo pipefail
. "$(dirname "$0")/lib.sh" strace linux-perf
n=${1:-100000}
want() { [ -z "${APPS_ONLY:-}" ] || [[ " $APPS_ONLY " == *" $1 "* ]]; }

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24
# on vstack|kernel CMD...: runs CMD in namespace a, on vstack or not
on() {
	local how=$1
	shift
	if [ "$how" = vstack ]; then vstack_exec a mlx5_0 "$@"; else netns_exec a "$@"; fi
}
redis() { # vstack|kernel PORT
	on "$1" redis-server --port "$2" --save "" --appendonly no --protected-mode no \
		--daemonize no --logfile "" >"$VSEMU_TMP/redis.$2" 2>&1 &
	wait_for_line "$VSEMU_TMP/redis.$2" "Ready to accept"
}
rb() { # PORT ARGS...: "TEST rps p99" lines (redis-benchmark --csv)
	netns_exec b redis-benchmark -h 10.77.1.1 -p "$1" --csv "${@:2}" 2>/dev/null |
		awk -F, 'NR > 1 { gsub(/"/, ""); print $1, $2, $7 }'
}
pid_of() { # PORT
	local p
	for p in $(netns_pidof a redis-server); do
		tr '\0' ' ' <"/proc/$p/cmdline" | grep -q ":$1" && echo "$p"
	done | head -1
}
# Syscalls are counted by the kernel's tracepoints (perf stat), which
# cost the process almost nothing; strace stops it at every syscall and
# slows it several times, which changes what it does (a thread that
# would have found work spinning sleeps and is woken instead). Without
# tracefs, strace -c -f is the fallback and the heading says so.
SYSCALLS="futex sendto recvfrom poll ppoll read write writev epoll_wait epoll_pwait"
if mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null; then
	counter=perf
else
	counter=strace
fi
syscalls() { # PORT FILE: syscalls per request during a SET/GET run
	local pid out=$VSEMU_TMP/sys.out.$1 req=$((n / 2)) r=$((n)) ev=raw_syscalls:sys_enter c
	pid=$(pid_of "$1")
	if [ $counter = perf ]; then
		for c in $SYSCALLS; do ev+=",syscalls:sys_enter_$c"; done
		perf stat -x, -e "$ev" -p "$pid" -o "$out" 2>/dev/null &
	else
		strace -c -f -p "$pid" -o "$out" 2>/dev/null &
	fi
	local st=$!
	sleep 1
	netns_exec b redis-benchmark -h 10.77.1.1 -p "$1" -q -n "$req" -c 50 -t set,get >/dev/null 2>&1
	kill -INT "$st"
	wait "$st" 2>/dev/null || true
	# "count name" lines, the total first as "count total"
	if [ $counter = perf ]; then
		awk -F, '$3 ~ /sys_enter/ { n = $3; sub(/.*sys_enter_?/, "", n); print $1, (n == "" ? "total" : n) }' "$out"
	else
		awk '/^ *[0-9.]+ +[0-9.]+ / { print $4, $NF }' "$out"
	fi >"$out.counts"
	# the total, then the four most frequent, per request
	{
		awk -v r=$r '$2 == "total" { printf "%.3f (", $1 / r }' "$out.counts"
		awk '$2 != "total"' "$out.counts" | sort -rn | head -4 |
			awk -v r=$r '{ printf "%s%s %.2f", (NR > 1 ? ", " : ""), $2, $1 / r } END { print ")" }'
	} >"$2"
}
stop() { # NAME: kills NAME in namespace a and waits until it is gone
	kill $(netns_pidof a "$1") 2>/dev/null || true
	for _ in $(seq 50); do
		[ -z "$(netns_pidof a "$1")" ] && break
		sleep 0.1
	done
}

if want redis; then
# One server at a time: the kernel's never runs with vstack's XDP program
# on the netdev (VS_BACKEND=xdp), nor beside vstack's engines.
for how in vstack kernel; do
	port=$([ $how = vstack ] && echo 6379 || echo 6380)
	redis $how $port
	for p in 1 16; do
		rb $port -n "$n" -c 50 -P $p -t set,get | sed "s/^\([A-Z]*\) /\1_P$p /"
	done | sort >"$VSEMU_TMP/rb.$how"
	syscalls $port "$VSEMU_TMP/sys.$how"
	stop redis-server
done
echo "== redis-benchmark, SET and GET, 50 clients, $n requests each (requests/s, p99 ms)"
printf '%-12s %14s %9s %14s %9s %8s\n' test "vstack rps" p99 "kernel rps" p99 ratio
join "$VSEMU_TMP/rb.vstack" "$VSEMU_TMP/rb.kernel" | while read -r t vr vp kr kp; do
	printf '%-12s %14s %9s %14s %9s %7.2fx\n' "${t/_P/ -P }" "$vr" "$vp" "$kr" "$kp" \
		"$(awk -v a="$vr" -v b="$kr" 'BEGIN { print b ? a / b : 0 }')"
done
echo
echo "== syscalls per request of redis-server (all threads, counted by $counter; the most frequent)"
printf '%-12s %s\n' vstack "$(cat "$VSEMU_TMP/sys.vstack")" kernel "$(cat "$VSEMU_TMP/sys.kernel")"
fi
if want sockperf; then
echo
echo "== sockperf ping-pong, 5 s (average round trip / 2, usec)"
for proto in udp tcp; do
	flag=; [ $proto = tcp ] && flag=--tcp
	row=()
	for how in vstack kernel; do
		port=$([ $how = vstack ] && echo 11111 || echo 11112)
		on $how sockperf sr $flag -i 10.77.1.1 -p $port >"$VSEMU_TMP/sp.$how" 2>&1 &
		s=$!
		wait_for_line "$VSEMU_TMP/sp.$how" "to block on"
		sleep 1 # vstack takes the socket over in its first wait
		row+=("$(netns_exec b sockperf pp $flag -i 10.77.1.1 -p $port -t 5 2>&1 |
			sed -n 's/.*Summary: Latency is \([0-9.]*\) usec.*/\1/p')")
		# $s is the subshell of `on`: the server is its child
		kill $(netns_pidof a sockperf) 2>/dev/null || true
		wait $s 2>/dev/null || true
	done
	printf '%-12s vstack %8s   kernel %8s   ratio %.2fx\n' $proto "${row[0]}" "${row[1]}" \
		"$(awk -v a="${row[0]}" -v b="${row[1]}" 'BEGIN { print b ? a / b : 0 }')"
done

fi
if want iperf3; then
echo
echo "== iperf3 TCP, 5 s, client on host B's kernel"
for how in vstack kernel; do
	VSTACK_LOG=info on $how iperf3 -s -1 --forceflush >"$VSEMU_TMP/iperf.$how" 2>&1 &
	wait_for_line "$VSEMU_TMP/iperf.$how" "Server listening"
	# vstack takes the listener over at iperf3's first select()
	[ $how = kernel ] || wait_for_line "$VSEMU_TMP/iperf.$how" "listening on vstack"
	printf '%-12s %s\n' "$how" "$(netns_exec b iperf3 -c 10.77.1.1 -t 5 2>&1 |
		awk '/receiver/ { print $7, $8 }')"
done
fi

if want memcached; then
	each=${MEMCACHED_EACH:-20000}
	echo
	echo "== memcached -t 4, memcslap --concurrency=32 --execute-number=$each (seconds to set every key; the server's CPU seconds)"
	row=()
	for how in vstack kernel; do
		VSTACK_LOG=info on $how memcached -u root -t 4 -p 11211 -U 0 -l 10.77.1.1 \
			>"$VSEMU_TMP/mc.$how" 2>&1 &
		if [ $how = vstack ]; then
			wait_for_line "$VSEMU_TMP/mc.$how" "listening on vstack"
		else
			up() { netns_exec b bash -c 'exec 3<>/dev/tcp/10.77.1.1/11211' 2>/dev/null; }
			wait_until 20 "memcached on the kernel" up
		fi
		mp=$(netns_pidof a memcached | head -1)
		out=$(netns_exec b memcslap --servers=10.77.1.1:11211 --concurrency=32 \
			--execute-number="$each" 2>&1)
		t=$(sed -n 's/^Time to set .*: *\([0-9.]*\) seconds\./\1/p' <<<"$out")
		cpu=$(awk '{ printf "%.1f", ($14 + $15) / 100 }' "/proc/$mp/stat")
		errs=$(grep -ciE "error|timeout" <<<"$out" || true)
		row+=("${t:-?}" "$cpu" "${errs:-0}")
		stop memcached
	done
	printf '%-10s %10s %10s %8s\n' "" seconds "CPU s" errors
	printf '%-10s %10s %10s %8s\n' vstack "${row[0]}" "${row[1]}" "${row[2]}" \
		kernel "${row[3]}" "${row[4]}" "${row[5]}"
	printf 'ratio (vstack/kernel time): %.2fx\n' \
		"$(awk -v a="${row[0]}" -v b="${row[3]}" 'BEGIN { print b ? a / b : 0 }')"
fi

if want nginx; then
	. tests/lib/nginx.sh
	secs=${NGINX_SECS:-8}
	d=$VSEMU_TMP/ngx
	nginx_conf "$d" 2 "user root;"
	sed -i "s/worker_connections 1024;/worker_connections 4096;/" "$d/nginx.conf"
	printf '%01024d' 0 >"$d/www/1k.html"
	echo
	echo "== nginx, 2 workers, wrk -t2 -d${secs}s on a 1 KiB file (requests/s; socket errors incl. timeouts; connections each worker accepted on vstack)"
	printf '%-8s %-7s %12s %8s  %s\n' conns on "requests/s" errors "per worker"
	for c in 50 1000; do
		declare -A rps=()
		for how in vstack kernel; do
			rm -f "$d/error.log"
			(ulimit -n 16384; VSTACK_LOG=info on $how nginx -c "$d/nginx.conf" >"$d/out.$how" 2>&1) &
			if [ $how = vstack ]; then
				ready() { [ "$(cat "$d/out.vstack" "$d/error.log" 2>/dev/null | grep -c 'listening on vstack')" -ge 4 ]; }
				wait_until 20 "nginx's workers on vstack" ready
			else
				up() { netns_exec b bash -c 'exec 3<>/dev/tcp/10.77.1.1/8080' 2>/dev/null; }
				wait_until 20 "nginx on the kernel" up
			fi
			out=$(netns_exec b bash -c "ulimit -n 16384; wrk -t2 -c$c -d${secs}s --timeout 2s http://10.77.1.1:8080/1k.html" 2>&1)
			r=$(awk '/^Requests\/sec/ { printf "%d", $2 }' <<<"$out")
			e=$(awk '/Socket errors/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' <<<"$out")
			grep -q 'Socket errors' <<<"$out" && echo "  $how, $c connections: $(grep 'Socket errors' <<<"$out" | sed 's/^ *//')"
			per=""
			if [ $how = vstack ]; then
				m=$(cat "$d/nginx.pid")
				for p in $(netns_pidof a nginx); do
					[ "$p" = "$m" ] && continue
					per+="$(vs_snmp "$p" Tcp.PassiveOpens 2>/dev/null || echo ?) "
				done
			fi
			rps[$how]=${r:-0}
			printf '%-8s %-7s %12s %8s  %s\n' "$c" $how "${r:-?}" "${e:-0}" "$per"
			stop nginx
		done
		printf 'ratio (vstack/kernel requests/s, %d connections): %.2fx\n' "$c" \
			"$(awk -v a="${rps[vstack]}" -v b="${rps[kernel]}" 'BEGIN { print b ? a / b : 0 }')"
	done
fi

if want dns; then
	secs=${DNS_SECS:-10}
	d=$VSEMU_TMP/dns
	mkdir -p "$d"
	for i in $(seq 1000); do echo "10.99.$((i / 250)).$((i % 250 + 1)) host$i.test"; done >"$d/hosts"
	for i in $(seq 1000); do echo "host$i.test A"; done >"$d/queries"
	echo
	echo "== dnsmasq, 1,000 names, dnsperf -c 4 -q 100 for ${secs} s (queries/s; mean latency ms; lost; the server's CPU us and syscalls per query, counted by $counter)"
	printf '%-8s %12s %10s %6s %12s %14s  %s\n' on "queries/s" "latency" lost "CPU us/q" "syscalls/q" "most frequent"
	declare -A qps=()
	for how in vstack kernel; do
		: >"$d/log.$how"
		VSTACK_LOG=info on $how dnsmasq -k --no-resolv --no-hosts --addn-hosts="$d/hosts" \
			--listen-address=10.77.1.1 --bind-interfaces --port=53 --cache-size=2000 \
			--user=root --pid-file= --log-facility=- >>"$d/log.$how" 2>&1 &
		wait_for_line "$d/log.$how" "1000 names"
		[ $how = kernel ] || wait_for_line "$d/log.$how" "UDP on vstack"
		dp=$(netns_pidof a dnsmasq | head -1)
		cpu0=$(awk '{ print $14 + $15 }' "/proc/$dp/stat")
		if [ $counter = perf ]; then
			ev=raw_syscalls:sys_enter
			for c in recvmsg sendmsg recvfrom sendto poll ppoll epoll_wait futex; do ev+=",syscalls:sys_enter_$c"; done
			perf stat -x, -e "$ev" -p "$dp" -o "$d/sys.$how" 2>/dev/null &
		else
			strace -c -f -p "$dp" -o "$d/sys.$how" 2>/dev/null &
		fi
		st=$!
		netns_exec b dnsperf -s 10.77.1.1 -d "$d/queries" -c 4 -q 100 -l "$secs" -t 2 >"$d/perf.$how" 2>&1 || true
		kill -INT "$st"
		wait "$st" 2>/dev/null || true
		cpu=$(($(awk '{ print $14 + $15 }' "/proc/$dp/stat") - cpu0))
		q=$(sed -n 's/^ *Queries completed: *\([0-9]*\).*/\1/p' "$d/perf.$how")
		r=$(sed -n 's/^ *Queries per second: *\([0-9]*\).*/\1/p' "$d/perf.$how")
		lat=$(sed -n 's/^ *Average Latency (s): *\([0-9.]*\).*/\1/p' "$d/perf.$how")
		lost=$(sed -n 's/^ *Queries lost: *\([0-9]*\).*/\1/p' "$d/perf.$how")
		if [ $counter = perf ]; then
			awk -F, '$3 ~ /sys_enter/ { n = $3; sub(/.*sys_enter_?/, "", n); print $1, (n == "" ? "total" : n) }' "$d/sys.$how"
		else
			awk '/^ *[0-9.]+ +[0-9.]+ / { print $4, $NF }' "$d/sys.$how"
		fi >"$d/counts.$how"
		sys=$(awk -v q="${q:-1}" '$2 == "total" { printf "%.2f", $1 / q }' "$d/counts.$how")
		top=$(awk '$2 != "total" && $1 > 0' "$d/counts.$how" | sort -rn | head -3 |
			awk -v q="${q:-1}" '{ printf "%s%s %.2f", (NR > 1 ? ", " : ""), $2, $1 / q }')
		qps[$how]=${r:-0}
		printf '%-8s %12s %10s %6s %12s %14s  %s\n' $how "${r:-?}" \
			"$(awk -v l="${lat:-0}" 'BEGIN { printf "%.3f", l * 1000 }')" "${lost:-?}" \
			"$(awk -v c="$cpu" -v q="${q:-1}" 'BEGIN { printf "%.1f", c * 1e4 / q }')" "${sys:-?}" "$top"
		stop dnsmasq
	done
	printf 'ratio (vstack/kernel queries/s): %.2fx\n' \
		"$(awk -v a="${qps[vstack]}" -v b="${qps[kernel]}" 'BEGIN { print b ? a / b : 0 }')"
fi
