# SPDX-License-Identifier: MIT
# xdp.stack / xdp.apps / xdp.cleanup: vstack's xdp backend on a veth
# pair against kernel peers.
#   test_xdp.sh stack    the stack.* TCP/UDP/bulk/multi-engine tests
#   test_xdp.sh apps     the apps.* tests: redis, nginx, iperf3, sockperf,
#                        memcached
#   test_xdp.sh cleanup  a second process on a netdev whose every queue
#                        the first holds is refused clearly; after kill
#                        -9 nothing of a vstack process is left on the
#                        interface; two processes on a queue each share
#                        the program, one killed leaves the other's
#                        rules and a newcomer takes its queue, the last
#                        one gone takes the program with it
#   test_xdp.sh workers  apps.nginx_workers and apps.reuseport on a veth
#                        with 4 queues: the processes split it by queues
#   test_xdp.sh kill9    stack.kill9 on xdp: servers killed with SIGKILL
#                        in the middle of traffic leave nothing behind
#   test_xdp.sh counters frames the kernel drops while the engine is
#                        stopped are counted (vstackctl stats drop_nic):
#                        received + dropped = sent
#   test_xdp.sh many_rules  10,000 outbound connections from one
#                        preloaded process, all carried by vstack (a flow
#                        rule each); with `flows` = 64 the ones past the
#                        XDP maps' room go to the kernel and work too
# stack and apps run the same scripts as the verbs backend, with
# VS_BACKEND=xdp (tests/lib/vsemu.sh): no emulator, device xdp:to_b.
set -eu
here=$(dirname "$0")
export VS_BACKEND=xdp

# A sub-test that skips (77) makes the whole a skip, after the others
# ran: ctest reports it skipped, never passed.
run_all() { # DIR TEST...
	local dir=$1 t rc skipped=
	shift
	for t in "$@"; do
		echo "=== $dir/test_$t.sh on xdp"
		rc=0
		bash "$here/../$dir/test_$t.sh" || rc=$?
		[ $rc = 77 ] && { echo "(skipped)"; skipped+=" $t"; continue; }
		[ $rc = 0 ] || { echo "FAIL: $dir/test_$t.sh on the xdp backend" >&2; exit 1; }
	done
	[ -z "$skipped" ] || { echo "skipped on xdp:$skipped"; exit 77; }
}

# Hosts a and b, a's end of the veth (QUEUES queues) ready for xdp:to_b.
two_hosts() { # QUEUES
	. "$here/../lib/netns.sh"
	. "$here/../lib/vsemu.sh"
	tmp=$VSEMU_TMP
	fail() { echo "FAIL: $*" >&2; cat "$tmp"/*.log >&2 2>/dev/null; exit 1; }
	netns_create a b
	NETNS_QUEUES=$1 netns_link a b
	vsemu_start a mlx5_0 to_b 10.77.1.1/24
}

case ${1:?stack, apps, workers, cleanup, kill9, counters or many_rules} in
stack) run_all stack tcp_kernel_peer udp fragments bulk multi_engine many_conns ;;
apps) run_all apps redis nginx iperf3 sockperf memcached udp_server ;;
workers) NETNS_QUEUES=4 run_all apps nginx_workers reuseport ;;
kill9) run_all stack kill9 ;;
cleanup)
	two_hosts 2
	echo_on() { # PORT LOG DEVICE: vs-echo on PORT in the background
		netns_exec a env VSTACK_DEVICE="$3" VSTACK_LOG=info \
			"$VS_BUILD/examples/vs-echo" "$1" >"$2" 2>&1 &
	}
	talk() { # PORT: one echo through vstack
		netns_exec b timeout 5 bash -c "exec 3<>/dev/tcp/10.77.1.1/$1; echo ping$1 >&3; read -t 3 l <&3; echo \$l"
	}
	echo_on 7000 "$tmp/a.log" xdp:to_b
	wait_for_line "$tmp/a.log" ready || fail "the first process did not start"
	a=$(netns_pidof a vs-echo)
	xdp_attached a to_b || fail "no XDP program on to_b"
	# The reaper shows its own name, not the program's command line
	# (pkill -f vs-echo must not find it).
	cmdlines() { # the command lines of namespace a's processes
		local p
		for p in $(ip netns pids "$(netns_name a)"); do
			tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null && echo
		done
	}
	[ "$(cmdlines | grep -c 'vs-echo 7000')" = 1 ] && [ -n "$(netns_pidof a vstack-reaper)" ] ||
		fail "the reaper passes for the program: $(cmdlines | grep -E 'vs-echo|vstack-reaper')"
	for i in 1 2 3 4; do
		[ "$(talk 7000)" = ping7000 ] || fail "echo $i through the first process"
	done
	# A second process on the same netdev: where libxdp's dispatcher
	# runs (a kernel with freplace), its program joins but every queue
	# has the first one's socket; elsewhere libxdp cannot share the
	# netdev. Either way it says so, and the first is untouched.
	echo_on 7001 "$tmp/b.log" xdp:to_b
	for _ in $(seq 50); do
		grep -qE 'ready|vs_init:' "$tmp/b.log" && break
		sleep 0.1
	done
	grep -qE "xdp:to_b: (another XDP program on to_b cannot be shared|every queue \(0\.\.1\) is taken by other AF_XDP sockets)" "$tmp/b.log" ||
		fail "the second process: no clear refusal"
	echo "second process: $(grep -oE '(another XDP program|every queue).*' "$tmp/b.log" | head -1)"
	[ "$(talk 7000)" = ping7000 ] || fail "the first process after the second"
	kill -9 "$a"
	for _ in $(seq 50); do
		xdp_attached a to_b || break
		sleep 0.1
	done
	! xdp_attached a to_b || fail "kill -9: the XDP program is still on to_b"
	for _ in $(seq 20); do
		[ -z "$(netns_pidof a vstack-reaper)" ] && break
		sleep 0.1
	done
	[ -z "$(netns_pidof a vstack-reaper)" ] || fail "the reaper is still running"
	echo "kill -9: no XDP program, no reaper left on to_b"
	# The netdev is as before: a new process gets it whole (a socket left
	# on a queue would make it EBUSY).
	echo_on 7002 "$tmp/c.log" xdp:to_b
	wait_for_line "$tmp/c.log" ready || fail "a new process after kill -9"
	[ "$(talk 7002)" = ping7002 ] || fail "echo through the new process"
	grep -q "2 sockets on queues 0..1" "$tmp/c.log" || fail "the new process did not get every queue"
	kill "$(netns_pidof a vs-echo)"
	for _ in $(seq 50); do
		xdp_attached a to_b || break
		sleep 0.1
	done
	! xdp_attached a to_b || fail "exit: the XDP program is still on to_b"
	# Two processes, a queue each, one program: both serve port 7000
	# (each the connections whose frames arrive at its queue).
	# The netdev's lock is an abstract socket of the namespace: held
	# only while a process attaches, joins or releases.
	lock_held() { netns_exec a ss -xl | grep -q '@vstack-xdp-'; }
	echo_on 7000 "$tmp/q0.log" xdp:to_b@0
	wait_for_line "$tmp/q0.log" ready || fail "the process on queue 0"
	first=$(netns_pidof a vs-echo)
	echo_on 7000 "$tmp/q1.log" xdp:to_b@1
	wait_for_line "$tmp/q1.log" ready || fail "the process on queue 1"
	grep -q "joining the vstack XDP program" "$tmp/q1.log" || fail "the second process did not join the program"
	[ "$(netns_exec a ip -d link show dev to_b | grep -c 'prog/xdp')" = 1 ] || fail "not one program on to_b"
	for i in $(seq 8); do
		[ "$(talk 7000)" = ping7000 ] || fail "echo $i through two processes"
	done
	echo "two processes on one program: 8 of 8 echoes"
	reapers=$(netns_pidof a vstack-reaper | wc -w)
	[ "$reapers" = 2 ] || fail "$reapers reapers, not 2"
	kill -9 "$first"
	one_reaper() { [ "$(netns_pidof a vstack-reaper | wc -w)" = 1 ]; }
	wait_until 10 "the killed process's reaper to end" one_reaper ||
		fail "the reaper of $first did not end"
	xdp_attached a to_b || fail "kill -9 of one of two: the program went with it"
	# A newcomer on the free queue takes the dead one's number and place.
	echo_on 7000 "$tmp/q2.log" xdp:to_b@0
	wait_for_line "$tmp/q2.log" ready || fail "a newcomer on queue 0"
	for i in $(seq 8); do
		[ "$(talk 7000)" = ping7000 ] || fail "echo $i after a newcomer took a dead process's queue"
	done
	kill -9 $(netns_pidof a vs-echo)
	wait_until 10 "the last reaper to detach the program" \
		eval '! xdp_attached a to_b && [ -z "$(netns_pidof a vstack-reaper)" ]' ||
		fail "kill -9 of both: program or reaper left"
	! lock_held || fail "the netdev's lock is still held"
	echo "two processes killed: no program, reaper or lock left"
	# A connection the kernel accepted before vstack steered its port
	# stays the kernel's: the program passes its frames (they match
	# vstack's listener, not a rule of the connection's own).
	command -v socat >/dev/null || fail "socat missing: run scripts/setup"
	netns_exec a socat TCP-LISTEN:7100,reuseaddr EXEC:cat >"$tmp/socat.log" 2>&1 &
	wait_until 10 "socat to listen" eval 'netns_exec a ss -Htln "( sport = :7100 )" | grep -q .' ||
		fail "socat did not listen"
	netns_exec b bash -c 'exec 3<>/dev/tcp/10.77.1.1/7100; echo one >&3; read -t 5 l <&3; echo "$l"
		while [ ! -e "$1" ]; do sleep 0.05; done; echo two >&3; read -t 5 l <&3; echo "$l"' _ "$tmp/go" >"$tmp/kconn.log" 2>&1 &
	kconn=$!
	wait_until 10 "the kernel's echo" grep -q one "$tmp/kconn.log" || fail "no echo from the kernel's socat"
	echo_on 7100 "$tmp/k.log" xdp:to_b
	wait_for_line "$tmp/k.log" ready || fail "vs-echo on the kernel connection's port"
	touch "$tmp/go"
	wait "$kconn" || true
	grep -q two "$tmp/kconn.log" || fail "the kernel's connection broke when vstack took its port: $(cat "$tmp/kconn.log")"
	[ "$(talk 7100)" = ping7100 ] || fail "a new connection to vstack's 7100"
	echo "a connection the kernel held before vstack took the port: still the kernel's"
	kill $(netns_pidof a vs-echo)
	nothing_left() { ! xdp_attached a to_b && [ -z "$(netns_pidof a vstack-reaper)" ] && ! lock_held; }
	wait_until 10 "program, reaper and lock to go after an exit" nothing_left ||
		fail "after an exit: program, reaper or lock left"
	echo "xdp.cleanup: ok"
	;;
many_rules)
	two_hosts 2
	n=${MANY_RULES:-10000} few=300
	netns_exec b sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535
	netns_exec b "$VS_BUILD/tests/kmany" -l 7700 $((n + few)) >"$tmp/srv.log" 2>&1 &
	wait_for_line "$tmp/srv.log" listening || fail "the kernel server did not start"
	# kmany opens all of them at once, then closes all.
	VSTACK_LOG=info vstack_exec a mlx5_0 "$VS_BUILD/tests/kmany" 10.77.1.2 7700 "$n" \
		>"$tmp/many.log" 2>&1 || fail "$n outbound connections"
	read -r _ connected _ <<<"$(vs_carried "$tmp/many.log")"
	echo "$(grep -o 'kmany: .*' "$tmp/many.log"); vstack connected ${connected:-none}"
	[ "${connected:-0}" = "$n" ] || fail "vstack carried ${connected:-no} of $n connections"
	# Room for 64 in each XDP map: the rest go to the kernel, and work.
	VSTACK_FLOWS=64 VSTACK_LOG=info vstack_exec a mlx5_0 "$VS_BUILD/tests/kmany" \
		10.77.1.2 7700 $few >"$tmp/few.log" 2>&1 || fail "$few connections with flows = 64"
	read -r _ connected _ <<<"$(vs_carried "$tmp/few.log")"
	echo "flows = 64: $(grep -o 'kmany: .*' "$tmp/few.log"); vstack connected ${connected:-none}"
	[ "${connected:-0}" -gt 0 ] && [ "$connected" -le 128 ] ||
		fail "flows = 64: vstack carried ${connected:-no} of $few"
	grep -q "no room for a flow rule.*go to the kernel" "$tmp/few.log" ||
		fail "flows = 64: no word of the kernel taking over"
	wait_until 30 "the server to see every connection closed" \
		test -z "$(netns_pidof b kmany)" || fail "the server did not see them all"
	grep -q "$((n + few)) of $((n + few)) connections served" "$tmp/srv.log" || fail "the server: $(cat "$tmp/srv.log")"
	echo "xdp.many_rules: ok"
	;;
counters)
	two_hosts 1
	export VSTACK_CONTROL_DIR=$tmp/ctl
	netns_exec a env VSTACK_DEVICE=xdp:to_b VSTACK_CORES=1 VSTACK_LOG=info \
		VSTACK_CONTROL_DIR="$VSTACK_CONTROL_DIR" \
		"$VS_BUILD/examples/vs-udp-echo" 7000 >"$tmp/u.log" 2>&1 &
	wait_for_line "$tmp/u.log" ready || fail "vs-udp-echo did not start"
	pid=$(netns_pidof a vs-udp-echo)
	stats() { # COLUMN: its value in vstackctl stats
		netns_exec a env VSTACK_CONTROL_DIR="$VSTACK_CONTROL_DIR" \
			"$VS_BUILD/src/ctl/vstackctl" stats -p "$pid" |
			awk -v c="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i }
				NR == 2 { print $k }'
	}
	kill -STOP "$pid"
	netns_exec b bash -c 'for i in $(seq 5000); do printf x >/dev/udp/10.77.1.1/7000; done'
	kill -CONT "$pid"
	counted() { rx=$(stats rx_packets) drops=$(stats drop_nic); [ $((rx + drops)) -ge 5000 ]; }
	wait_until 10 "5000 datagrams received or dropped" counted || true
	echo "5000 datagrams sent to a stopped engine: $rx received, $drops dropped by the kernel"
	[ "$drops" -gt 0 ] || fail "no drop counted"
	[ $((rx + drops)) = 5000 ] || fail "received $rx + dropped $drops != 5000 sent"
	echo "xdp.counters: ok"
	;;
esac
