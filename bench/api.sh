#!/usr/bin/env bash
# bench/api.sh - the native API against sockets, side by side in one run
# under the same client load (as root):
#   native   examples/vs-echo, one context
#   preload  bench/epoll_echo (one thread, epoll) under LD_PRELOAD=libvstack.so
#   kernel   the same bench/epoll_echo on the kernel
# all three in namespace a on the same emulated ConnectX; the client is
# examples/vs-load (native, one context, CONNS connections, 64-byte
# messages, SECS seconds) in namespace b on a second emulated port.
# Prints requests/s, p50/p99 round trip, the ratio to the kernel, and
# syscalls per request of the server (strace -c -f during a second run,
# which strace slows alike for all three). The emulated ConnectX's speed
# is not a product number: only ratios and syscall counts mean something.
#   bench/api.sh [SECS [CONNS]]     (default 5 s, 8 connections)
set -euo pipefail
. "$(dirname "$0")/lib.sh" strace
secs=${1:-5}
conns=${2:-8}

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24
vsemu_start b mlx5_1 to_a 10.77.1.2/24
native_in() { # NS DEV CMD...: a native vstack program
	local ns=$1 dev=$2
	shift 2
	netns_exec "$ns" env VSEMU_DIR="$VSEMU_DIR" LD_PRELOAD="$VSEMU_LIB/libvsemu.so" \
		VSTACK_DEVICE="$dev" VSTACK_LOG=warn "$@"
}
native_in a mlx5_0 "$VS_BUILD/examples/vs-echo" -c 1 7001 >"$VSEMU_TMP/native" 2>&1 &
VSTACK_CORES=1 vstack_exec a mlx5_0 "$VS_BUILD/bench/epoll_echo" 7002 >"$VSEMU_TMP/preload" 2>&1 &
netns_exec a "$VS_BUILD/bench/epoll_echo" 7003 >"$VSEMU_TMP/kernel" 2>&1 &
for f in native preload kernel; do wait_for_line "$VSEMU_TMP/$f" ready; done
# The preloaded server's listener becomes vstack's at its first epoll_ctl.
load() { # PORT SECS: "requests rps p50 p99"
	native_in b mlx5_1 "$VS_BUILD/examples/vs-load" -c 1 -n "$conns" -d "$2" \
		-m echo -s 64 "10.77.1.1:$1" 2>/dev/null |
		awk '/^requests/ { print $2, $6, $8, $11 }'
}
pid_of() { # NAME PORT
	local p
	for p in $(netns_pidof a "$1"); do
		if tr '\0' ' ' <"/proc/$p/cmdline" | grep -q " $2"; then echo "$p"; fi
	done | head -1
}
echo "== echo, 64-byte messages, $conns connections, $secs s (vs-load on a second emulated port)"
printf '%-8s %12s %9s %9s %8s %14s\n' server "requests/s" "p50 us" "p99 us" ratio "syscalls/req"
declare -A rps p50 p99 sys req
for s in native:7001:vs-echo preload:7002:epoll_echo kernel:7003:epoll_echo; do
	IFS=: read -r name port comm <<<"$s"
	read -r _req rps[$name] p50[$name] p99[$name] < <(load "$port" "$secs")
	pid=$(pid_of "$comm" "$port")
	strace -c -f -p "$pid" -o "$VSEMU_TMP/strace.$name" 2>/dev/null &
	st=$!
	sleep 1
	read -r req[$name] _ < <(load "$port" 3)
	kill -INT "$st"
	wait "$st" 2>/dev/null || true
	sys[$name]=$(awk -v r="${req[$name]}" '$NF == "total" { printf "%.3f", $4 / r } END { if (!NR) print "n/a" }' \
		"$VSEMU_TMP/strace.$name")
done
for name in native preload kernel; do
	printf '%-8s %12s %9s %9s %7.2fx %14s\n' "$name" "${rps[$name]}" "${p50[$name]}" \
		"${p99[$name]}" "$(awk -v a="${rps[$name]}" -v b="${rps[kernel]}" 'BEGIN { print b ? a / b : 0 }')" \
		"${sys[$name]}"
done
echo
echo "== the servers' most frequent syscalls (calls per request)"
for name in native preload kernel; do
	printf '%-8s %s\n' "$name" "$(awk -v r="${req[$name]}" '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" {
		printf "%s %.3f  ", $NF, $4 / r }' "$VSEMU_TMP/strace.$name" | cut -c1-100)"
done
