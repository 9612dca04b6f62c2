#!/usr/bin/env bash
# bench/udp.sh - where a UDP request's instructions go on vstack: dnsmasq
# (one thread, 1,000 names from its hosts file) preloaded under callgrind,
# answering dnsperf's queries from the peer namespace, 20 outstanding
# (the server never idles: an idle engine's polling would count per
# query at a limited rate); runs of Q and 2*Q queries are differenced, so
# start-up and exit cancel out. Exclusive instructions per query, by
# where they run: the socket layer (src/sockapi, preload/), the engine
# (src/stack), the port (src/verbs), the rest of vstack, lwIP's copy, the
# emulated NIC's library half (emu/: on a ConnectX the hardware's work;
# lwIP's copies are the only code callgrind finds no object file for),
# dnsmasq itself, the C library, the rest. The kernel's instructions are
# not counted: syscalls per query are bench/apps.sh's (dns). With
# VS_BACKEND=xdp, the same on the xdp backend over the veth.
#
# bench/udp.sh echo: batches. bench/udp_echo as the server, taking one
# datagram per call (recvfrom + sendto) or up to 32 (recvmmsg with
# MSG_WAITFORONE + sendmmsg), 64-byte datagrams, 32 in flight from host
# B's kernel: echoes per second on vstack and on the kernel in the same
# run, the server's CPU time and syscalls per datagram (kernel
# tracepoints), then instructions per datagram under callgrind as above
# (runs of Q and 2*Q echoes differenced).
# Results: bench/README.md.
#   bench/udp.sh [Q]              (default 2000)
#   bench/udp.sh echo [Q]         (default 20000; ECHO_COUNT=300000 for the rates)
set -euo pipefail
. "$(dirname "$0")/lib.sh" valgrind dnsmasq-base dnsperf linux-perf
mode=dns
if [ "${1:-}" = echo ]; then
	mode=echo
	shift
fi
q=${1:-$([ $mode = echo ] && echo 20000 || echo 2000)}

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24
d=$VSEMU_TMP
for i in $(seq 1000); do echo "10.99.$((i / 250)).$((i % 250 + 1)) host$i.test"; done >"$d/hosts"
for i in $(seq 1000); do echo "host$i.test A"; done >"$d/queries"

# "CATEGORY IR" lines of a callgrind output (exclusive costs).
categories() {
	awk '
	/^ob=/ { ob = substr($0, 4); next }
	/^fl=/ { fl = substr($0, 4); file = fl; next }
	/^(fi|fe)=/ { file = substr($0, 4); next }
	/^fn=/ { file = fl; next }
	/^calls=/ { skip = 1; next }
	/^[0-9]/ {
		if (skip) { skip = 0; next }
		if (file ~ /\/src\/sockapi\/|\/preload\//) c = "socket layer"
		else if (file ~ /\/src\/stack\//) c = "engine"
		else if (file ~ /\/src\/verbs\//) c = "port"
		else if (file ~ /\/src\//) c = "vstack, other"
		else if (file ~ /\/emu\//) c = "emulated NIC"
		else if (ob == "???") c = "lwIP" # its copy, loaded from a memfd
		else if (ob ~ /dnsmasq/) c = "dnsmasq"
		else if (ob ~ /udp_echo/) c = "udp_echo"
		else if (ob ~ /libc\.so/) c = "libc"
		else c = "other"
		ir[c] += $2
		next
	}
	END { for (c in ir) printf "%s\t%d\n", c, ir[c] }' "$1"
}

run() { # N: queries answered under callgrind -> $d/cg.N
	local out=$d/cg.$1 log=$d/log.$1
	: >"$log"
	vstack_exec a mlx5_0 env VSTACK_LOG=info valgrind --tool=callgrind \
		--callgrind-out-file="$out" --compress-strings=no --compress-pos=no \
		dnsmasq -k --no-resolv --no-hosts --addn-hosts="$d/hosts" \
		--listen-address=10.77.1.1 --bind-interfaces --port=53 --cache-size=2000 \
		--user=root --pid-file= --log-facility=- >>"$log" 2>&1 &
	local p=$!
	for _ in $(seq 600); do grep -q "UDP on vstack" "$log" && break; sleep 0.1; done
	grep -q "UDP on vstack" "$log" || { echo "bench/udp.sh: dnsmasq did not start on vstack" >&2; cat "$log" >&2; exit 1; }
	netns_exec b dnsperf -s 10.77.1.1 -d "$d/queries" -c 1 -q 20 \
		-n $(($1 / 1000)) -t 5 >"$d/perf.$1" 2>&1
	grep -q "Queries lost: *0 " "$d/perf.$1" || { echo "bench/udp.sh: queries lost" >&2; cat "$d/perf.$1" >&2; exit 1; }
	# under valgrind the process is not called dnsmasq: its log says
	kill "$(sed -n 's/^dnsmasq\[\([0-9]*\)\]: started.*/\1/p' "$log")" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	categories "$out" | sort >"$out.cat"
	[ -z "${UDP_KEEP:-}" ] || cp "$out" "$UDP_KEEP.$1"
}

# Per-unit difference of two runs' categories: UNITS A.cat B.cat
per_unit() {
	join -t "$(printf '\t')" -a 1 -a 2 -e 0 -o 0,1.2,2.2 "$2" "$3" |
		awk -F '\t' -v q="$1" '{ v = ($3 - $2) / q; t += v; printf "%.0f\t%s\n", v, $1 }
			END { printf "%.0f\ttotal\n", t }' | sort -rn |
		awk -F '\t' '{ printf "%-16s %8d\n", $2, $1 }'
}

if [ $mode = dns ]; then
	run "$q"
	run $((2 * q))
	echo "== instructions per DNS query answered by dnsmasq on vstack ($VS_BACKEND; callgrind; $q and $((2 * q)) queries differenced)"
	per_unit "$q" "$d/cg.$q.cat" "$d/cg.$((2 * q)).cat"
	exit 0
fi

ue=$VS_BUILD/bench/udp_echo
# echo_server vstack|kernel BATCH [callgrind OUT]: prints the server's pid
echo_server() {
	local how=$1 b=$2 log=$d/echo.log pre=()
	[ $# -lt 4 ] || pre=(valgrind --tool=callgrind --callgrind-out-file="$4" --compress-strings=no --compress-pos=no)
	: >"$log"
	if [ "$how" = vstack ]; then
		vstack_exec a mlx5_0 env VSTACK_LOG=info "${pre[@]}" "$ue" server 7000 "$b" >>"$log" 2>&1 &
	else
		netns_exec a "${pre[@]}" "$ue" server 7000 "$b" >>"$log" 2>&1 &
	fi
	for _ in $(seq 600); do grep -q "listening" "$log" && break; sleep 0.1; done
	grep -q "listening" "$log" || { echo "bench/udp.sh: udp_echo did not start" >&2; cat "$log" >&2; exit 1; }
	sed -n 's/^listening (pid \([0-9]*\)).*/\1/p' "$log"
}
echo_stop() { # PID
	kill -TERM "$1"
	for _ in $(seq 300); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null || true
}
if mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null; then
	counter=perf
else
	counter=strace
fi
n=${ECHO_COUNT:-300000}
echo "== UDP echo ($VS_BACKEND): 64-byte datagrams, 32 in flight, $n echoes; the server one datagram per call or batches of up to 32 (server CPU us and syscalls per datagram, counted by $counter)"
printf '%-6s %-8s %10s %10s %12s %6s  %s\n' batch on "echoes/s" "CPU us/dg" "syscalls/dg" lost "most frequent"
for b in 1 32; do
	declare -A rate=()
	for how in vstack kernel; do
		pid=$(echo_server $how $b)
		[ $how = kernel ] || grep -q "UDP on vstack" "$d/echo.log" ||
			{ echo "bench/udp.sh: udp_echo is not on vstack" >&2; cat "$d/echo.log" >&2; exit 1; }
		cpu0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
		if [ $counter = perf ]; then
			ev=raw_syscalls:sys_enter
			for c in recvfrom sendto recvmsg recvmmsg sendmmsg futex read write poll ppoll epoll_wait epoll_pwait sched_yield; do
				ev+=",syscalls:sys_enter_$c"
			done
			perf stat -x, -e "$ev" -p "$pid" -o "$d/sys" 2>/dev/null &
		else
			strace -c -f -p "$pid" -o "$d/sys" 2>/dev/null &
		fi
		st=$!
		netns_exec b "$ue" client 10.77.1.1 7000 32 "$n" >"$d/client" 2>&1 ||
			{ echo "bench/udp.sh: the client failed" >&2; cat "$d/client" "$d/echo.log" >&2; exit 1; }
		kill -INT "$st"
		wait "$st" 2>/dev/null || true
		cpu=$(($(awk '{ print $14 + $15 }' "/proc/$pid/stat") - cpu0))
		echo_stop "$pid"
		if [ $counter = perf ]; then
			awk -F, '$3 ~ /sys_enter/ { k = $3; sub(/.*sys_enter_?/, "", k); print $1, (k == "" ? "total" : k) }' "$d/sys"
		else
			awk '/^ *[0-9.]+ +[0-9.]+ / { print $4, $NF }' "$d/sys"
		fi >"$d/counts"
		r=$(sed -n 's/.*: \([0-9]*\)\/s, .*/\1/p' "$d/client")
		lost=$(sed -n 's/.*, \([0-9]*\) lost$/\1/p' "$d/client")
		rate[$how]=$r
		printf '%-6s %-8s %10s %10s %12s %6s  %s\n' "$b" $how "$r" \
			"$(awk -v c="$cpu" -v q="$n" 'BEGIN { printf "%.2f", c * 1e4 / q }')" \
			"$(awk -v q="$n" '$2 == "total" { printf "%.3f", $1 / q }' "$d/counts")" "$lost" \
			"$(awk '$2 != "total" && $1 > 0' "$d/counts" | sort -rn | head -3 |
				awk -v q="$n" '{ printf "%s%s %.3f", (NR > 1 ? ", " : ""), $2, $1 / q }')"
	done
	printf 'batch %s: ratio (vstack/kernel echoes/s): %.2fx\n' "$b" \
		"$(awk -v a="${rate[vstack]}" -v k="${rate[kernel]}" 'BEGIN { print k ? a / k : 0 }')"
done

# cg_echo BATCH N: N echoes under callgrind -> $d/cge.BATCH.N.cat
cg_echo() {
	local out=$d/cge.$1.$2 pid
	pid=$(echo_server vstack "$1" callgrind "$out")
	netns_exec b "$ue" client 10.77.1.1 7000 32 "$2" >"$d/client" 2>&1 ||
		{ echo "bench/udp.sh: the client failed" >&2; cat "$d/client" >&2; exit 1; }
	echo_stop "$pid"
	categories "$out" | sort >"$out.cat"
	[ -z "${UDP_KEEP:-}" ] || cp "$out" "$UDP_KEEP.echo.$1.$2"
}
for b in 1 32; do
	cg_echo $b "$q"
	cg_echo $b $((2 * q))
	echo "== instructions per datagram echoed by udp_echo on vstack, batch $b ($VS_BACKEND; callgrind; $q and $((2 * q)) differenced)"
	per_unit "$q" "$d/cge.$b.$q.cat" "$d/cge.$b.$((2 * q)).cat"
done
