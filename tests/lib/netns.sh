# SPDX-License-Identifier: MIT
# netns.sh - network namespaces for vstack's network tests. Source it.
#
# Owns: the namespaces and veth pairs a test creates, and their removal.
# Every name carries the creating shell's pid (vst<PID>_<name>), so tests
# can run in parallel, and a later run can tell what a killed test left
# behind: netns_sweep (called by netns_create) removes the namespaces of
# pids that no longer exist. Teardown kills every process inside a
# namespace before deleting it, so no daemon outlives its test.
#
# Must never: touch a namespace or interface it did not create, or use an
# address outside the namespaces it created.
#
#   netns_create a b          # namespaces; $(netns_name a) is the real name
#   netns_link a b            # veth a<->b (no TSO/GSO, as a cable): in a "to_b" 10.77.K.1/24
#                             #  fd77:K::1/64, in b "to_a" 10.77.K.2 fd77:K::2;
#                             #  NETNS_QUEUES=N: N queues each way (default 1)
#   netns_exec a CMD...       # run CMD inside a
#   netns_addr a b 4|6        # a's address on its link to b
#   netns_tcp_snmp a FIELD    # the kernel's TCP counter FIELD in a
#                             #  (/proc/net/snmp's Tcp: ActiveOpens...)
#   netns_pidof a NAME        # pids of the processes called NAME in a (only a's)
#   netns_kill a SIG NAME     # SIG to the processes called NAME in a (only a's)
#   netns_wait_gone a NAME SECS # until no NAME is left in a; else shows
#                             #  what the kernel says of it, fails
#   wait_until SECS WHAT CMD... # runs CMD until it succeeds, at most SECS
#                             #  seconds; else says "timed out: WHAT", fails
#   netns_teardown            # also runs automatically on exit and signals
#   NETNS_CLEANUP+=("cmd")    # run by netns_teardown, after the namespaces

# An ASan build's shared runtime (CMakeLists.txt), to put first in any
# LD_PRELOAD that holds a sanitized library; empty otherwise.
VS_SAN_PRELOAD=${VS_SAN_RUNTIME:+$VS_SAN_RUNTIME }
# How much slower than a plain build a test's programs run (the
# sanitizers': 3), for the deadlines of load generators (wrk's --timeout):
# the gcc stage keeps the strict ones.
VS_SLOW=${VS_SAN_RUNTIME:+3}
VS_SLOW=${VS_SLOW:-1}

NETNS_PREFIX="vst$$_"
NETNS_CREATED=()
NETNS_CLEANUP=() # commands run by netns_teardown after the namespaces go
NETNS_LINKS=0
declare -gA NETNS_ADDR

netns_name() { echo "${NETNS_PREFIX}$1"; }

netns_need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: network namespaces need root" >&2
		exit 77
	fi
	command -v ip >/dev/null || { echo "ip (iproute2) is missing; run scripts/setup" >&2; exit 1; }
}

# Removes one namespace and everything running in it.
netns_destroy() {
	local ns=$1 pids
	pids=$(ip netns pids "$ns" 2>/dev/null)
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	return 0
}

# Deletes namespaces left by test shells that no longer exist.
netns_sweep() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		[[ $ns =~ ^vst([0-9]+)_ ]] || continue
		pid=${BASH_REMATCH[1]}
		[ -d "/proc/$pid" ] && continue
		echo "netns: removing $ns left by dead test $pid" >&2
		netns_destroy "$ns"
	done
}

netns_teardown() {
	local ns c
	for ns in "${NETNS_CREATED[@]}"; do
		netns_destroy "$ns"
	done
	NETNS_CREATED=()
	for c in "${NETNS_CLEANUP[@]}"; do
		eval "$c"
	done
	NETNS_CLEANUP=()
}

netns_on_signal() {
	netns_teardown
	trap - EXIT
	exit 128
}

netns_create() {
	local n ns
	netns_need_root
	netns_sweep
	trap netns_teardown EXIT
	trap netns_on_signal INT TERM HUP
	for n in "$@"; do
		ns=$(netns_name "$n")
		ip netns add "$ns" || return 1
		NETNS_CREATED+=("$ns")
		ip -n "$ns" link set lo up
	done
}

# netns_pidof NS NAME: the pids of the processes called NAME in NS.
netns_pidof() {
	local p
	for p in $(ip netns pids "$(netns_name "$1")"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ] && echo "$p"
	done
	return 0
}

# netns_kill NS SIG NAME: sends SIG to the processes called NAME in NS.
# Never by name across the machine: `ip netns exec NS pkill NAME` would
# find every NAME on the machine, other tests' included.
netns_kill() {
	local p
	p=$(netns_pidof "$1" "$3")
	[ -n "$p" ] && kill -"$2" $p 2>/dev/null
	return 0
}

# wait_until SECS WHAT CMD...: runs CMD every 50 ms until it succeeds,
# for at most SECS seconds. A condition with a deadline, never a fixed
# sleep.
wait_until() {
	local secs=$1 what=$2 end
	shift 2
	end=$((SECONDS + secs))
	until "$@"; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "timed out after ${secs} s: $what" >&2
			return 1
		fi
		sleep 0.05
	done
}

# netns_wait_gone NS NAME SECS: waits until no process called NAME is
# left in NS. A killed process can take seconds to go on a loaded
# machine (its exit is the kernel's teardown of its sockets, memory and
# namespaces): a slow exit is reported, and a process still there after
# SECS is shown as the kernel sees it (state, wait channel, stacks).
netns_wait_gone() {
	local ns=$1 name=$2 secs=$3 start=$SECONDS pids p t
	while pids=$(netns_pidof "$ns" "$name"); [ -n "$pids" ]; do
		if [ $((SECONDS - start)) -ge "$secs" ]; then
			echo "timed out after $secs s: $name in $ns to exit" >&2
			for p in $pids; do
				echo "pid $p: $(tr '\n' ' ' <"/proc/$p/status" 2>/dev/null | grep -o 'State:[^A-Z]*[A-Z] ([a-z ]*)\|PPid:[^A-Z]*[0-9]*' | tr '\n\t' '  ')wchan $(cat "/proc/$p/wchan" 2>/dev/null)"
				for t in /proc/"$p"/task/*; do
					echo "  task ${t##*/}: $(grep State "$t/status" 2>/dev/null) $(cat "$t/wchan" 2>/dev/null)"
					sed 's/^/    /' "$t/stack" 2>/dev/null
				done
			done >&2
			return 1
		fi
		sleep 0.05
	done
	[ $((SECONDS - start)) -lt 5 ] || echo "note: $name in $ns took $((SECONDS - start)) s to exit" >&2
	return 0
}

netns_exec() {
	local n=$1
	shift
	ip netns exec "$(netns_name "$n")" "$@"
}

# Waits until IPv6 duplicate address detection is over on a namespace,
# so tests never race a "tentative" address.
netns_wait_dad() {
	local ns=$1 i
	for i in $(seq 50); do
		ip -n "$ns" -6 addr show tentative | grep -q inet6 || return 0
		sleep 0.1
	done
	echo "netns: IPv6 addresses in $ns still tentative" >&2
	return 1
}

netns_link() {
	local a=$1 b=$2 k
	local nsa nsb
	nsa=$(netns_name "$a")
	nsb=$(netns_name "$b")
	NETNS_LINKS=$((NETNS_LINKS + 1))
	k=$NETNS_LINKS
	local q=${NETNS_QUEUES:-1}
	ip -n "$nsa" link add "to_$b" numtxqueues "$q" numrxqueues "$q" type veth \
		peer name "to_$a" numtxqueues "$q" numrxqueues "$q" netns "$nsb" || return 1
	ip -n "$nsa" addr add "10.77.$k.1/24" dev "to_$b"
	ip -n "$nsb" addr add "10.77.$k.2/24" dev "to_$a"
	ip -n "$nsa" addr add "fd77:$k::1/64" dev "to_$b" nodad
	ip -n "$nsb" addr add "fd77:$k::2/64" dev "to_$a" nodad
	# A cable carries frames of the MTU, not TSO/GSO super-frames.
	ip netns exec "$nsa" ethtool -K "to_$b" tso off gso off gro off >/dev/null 2>&1 || true
	ip netns exec "$nsb" ethtool -K "to_$a" tso off gso off gro off >/dev/null 2>&1 || true
	ip -n "$nsa" link set "to_$b" up
	ip -n "$nsb" link set "to_$a" up
	NETNS_ADDR["$a,$b,4"]=10.77.$k.1
	NETNS_ADDR["$b,$a,4"]=10.77.$k.2
	NETNS_ADDR["$a,$b,6"]=fd77:$k::1
	NETNS_ADDR["$b,$a,6"]=fd77:$k::2
	netns_wait_dad "$nsa" && netns_wait_dad "$nsb"
}

netns_addr() {
	echo "${NETNS_ADDR[$1,$2,$3]}"
}

netns_tcp_snmp() {
	netns_exec "$1" awk -v k="$2" '$1 == "Tcp:" && !n { for (i = 2; i <= NF; i++) f[$i] = i; n = 1; next }
		$1 == "Tcp:" { print $f[k] }' /proc/net/snmp
}
