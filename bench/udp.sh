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
# Results: bench/README.md.
#   bench/udp.sh [Q]              (default 2000)
set -euo pipefail
. "$(dirname "$0")/lib.sh" valgrind dnsmasq-base dnsperf
q=${1:-2000}

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

run "$q"
run $((2 * q))
echo "== instructions per DNS query answered by dnsmasq on vstack ($VS_BACKEND; callgrind; $q and $((2 * q)) queries differenced)"
join -t "$(printf '\t')" -a 1 -a 2 -e 0 -o 0,1.2,2.2 "$d/cg.$q.cat" "$d/cg.$((2 * q)).cat" |
	awk -F '\t' -v q="$q" '{ v = ($3 - $2) / q; t += v; printf "%.0f\t%s\n", v, $1 }
		END { printf "%.0f\ttotal\n", t }' | sort -rn |
	awk -F '\t' '{ printf "%-16s %8d\n", $2, $1 }'
