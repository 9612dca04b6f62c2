# ctl.*: vstackctl against a running preloaded server on the emulated
# ConnectX (the kudp echo server and bench/epoll_echo under LD_PRELOAD,
# started by `vstack run`), peers on host B's kernel.
#   counters  list names the process; 3 datagrams echoed move
#             Udp.In/OutDatagrams by exactly the number the client sent
#             (3, or more if it had to try again), rx and tx packets by
#             at least that (neighbour probes may add frames), and
#             latency counts as many deliveries, all on core 0; stats -i
#             prints rates;
#             -j prints JSON
#   conns     a kernel client's connection shows with its addresses and
#             port; 3,000 more (kmany) all show, in a reply of several
#             parts (-j too), as --state, --port and --peer select and
#             as -s counts them; config names its sources; set loglevel
#             takes effect
#   auth      another uid is refused: by the socket's mode, and (mode
#             opened) by the server, which logs it; the same uid without
#             CAP_NET_ADMIN reads counters but may not add or delete NIC
#             rules or start a capture
#   dir       a control directory that is a symlink, writable by others
#             or another user's is refused with the reason; the program
#             runs on vstack all the same, no socket file is made
#   group     a shared control directory (root's, sticky, writable by
#             a group: the packages' /run/vstack) gives the process a
#             socket of that group, mode 0660: a member (primary or
#             supplementary group) uses vstackctl, another uid outside
#             the group is refused by the mode and by the server; the
#             same directory without the sticky bit is refused
#   malformed malformed and random requests get error replies (or none,
#             when truncated), a client sending a byte every 400 ms does
#             not hold the server, and the process keeps serving
#   capture   a capture of a known exchange (3 datagrams echoed), read
#             back by tcpdump and by tshark, has exactly its 6 frames; a filter that
#             excludes them captures none of them; a bad filter is refused
#             with libpcap's message
#   flow      a drop rule (flow add) stops one peer's datagrams at the
#             NIC and counts them (flow list: exactly the 3 tries); flow
#             del restores the echo; a kernel rule keeps a socket bound
#             after it on the kernel (and only that one); bad rules are
#             refused with reasons (addresses as the offload policy
#             parses them: host bits past the prefix refused; port 0, or
#             a port with bits outside its mask, refused)
#   run       `vstack run` with a missing device, without privilege, or
#             with a bad configuration fails with its message and does
#             not start the program
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
what=$1
ctl=$VS_BUILD/src/ctl/vstackctl
launch=$VS_BUILD/src/ctl/vstack
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP"/srv* >&2 2>/dev/null; exit 1; }
export VSTACK_CONTROL_DIR=$VSEMU_TMP/ctl

netns_create a b
netns_link a b
# ctl.run: a service's user (nobody) reaches the emulator through its group.
[ "$what" = run ] && VSEMU_ARGS="--group nogroup"
vsemu_start a mlx5_0 to_b 10.77.1.1/24 fd77:1::1/64
netns_exec b ip addr add 10.77.1.2/24 dev to_a 2>/dev/null || true
# `vstack run --emu` adds the emulator's libibverbs, then libvstack.so.
run_vs() { # OUT PROGRAM ARGS...
	local out=$1
	shift
	netns_exec a env VSEMU_DIR="$VSEMU_DIR" LD_PRELOAD="$VS_SAN_PRELOAD" \
		VSTACK_LOG=info "$launch" run --emu --device mlx5_0 --cores 1 -- "$@" >"$out" 2>&1
}
col() { # TABLE-TEXT ROW-MATCH COLUMN-NAME: a cell of vstackctl's output
	awk -v m="$2" -v c="$3" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
		$0 ~ m { print $k; exit }' <<<"$1"
}

case $what in
counters)
	run_vs "$VSEMU_TMP/srv" "$VS_BUILD/tests/kudp" echo 7400 1000 &
	wait_for_line "$VSEMU_TMP/srv" listening
	wait_for_line "$VSEMU_TMP/srv" "control: serving"
	out=$("$ctl" list)
	echo "$out"
	echo "$out" | grep -q 'kudp.*preload.*mlx5_0.*vsmlx5_0' || fail "list: $out"
	pid=$(col "$out" kudp pid)
	snmp() { "$ctl" snmp -p "$pid" | awk -v k="$1" '$1 == k { print $2 }'; }
	stat() { "$ctl" stats -p "$pid" -c 0 | awk -v c="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next } { print $k }'; }
	rx0=$(stat rx_packets) tx0=$(stat tx_packets) in0=$(snmp Udp.InDatagrams) out0=$(snmp Udp.OutDatagrams)
	netns_exec b "$VS_BUILD/tests/kudp" client 10.77.1.1 7400 1 1000 1452 >"$VSEMU_TMP/cli" ||
		fail "echo: $(cat "$VSEMU_TMP/cli")"
	n=$(awk '/^kudp: sent/ { print $3 }' "$VSEMU_TMP/cli")
	[ "$n" -ge 3 ] || fail "the client sent '$n' datagrams"
	rx1=$(stat rx_packets) tx1=$(stat tx_packets) in1=$(snmp Udp.InDatagrams) out1=$(snmp Udp.OutDatagrams)
	echo "$n sent: rx $rx0 -> $rx1, tx $tx0 -> $tx1, Udp.In $in0 -> $in1, Udp.Out $out0 -> $out1"
	[ $((in1 - in0)) = "$n" ] && [ $((out1 - out0)) = "$n" ] ||
		fail "datagrams moved by $((in1 - in0))/$((out1 - out0)), not $n"
	[ $((rx1 - rx0)) -ge "$n" ] && [ $((tx1 - tx0)) -ge "$n" ] &&
		[ $((rx1 - rx0)) -le $((n + 2)) ] && [ $((tx1 - tx0)) -le $((n + 2)) ] ||
		fail "packets moved by $((rx1 - rx0))/$((tx1 - tx0)), not $n (+2 neighbour frames at most)"
	# Each datagram was delivered once: as many latencies.
	lat=$("$ctl" latency -j | grep -o '"count": [0-9]*' | awk '{ s += $2 } END { print s + 0 }')
	"$ctl" latency | tee "$VSEMU_TMP/lat"
	[ "$lat" = "$n" ] || fail "latency counted $lat deliveries, not $n"
	# Per core too (one engine here: core0 has them all).
	grep -q "^core0: $n deliveries; p50 below [0-9]* us" "$VSEMU_TMP/lat" ||
		fail "latency: no core0 line of $n deliveries"
	out=$("$ctl" stats -p "$pid" -i 0.2 -n 2)
	echo "$out"
	[ "$(grep -c '^ *0 *mlx5_0' <<<"$out")" = 2 ] || fail "stats -i: $out"
	"$ctl" stats -j | grep -q '^\[{"core": 0, "device": "mlx5_0", "rx_packets": ' ||
		fail "stats -j: $("$ctl" stats -j)"
	"$ctl" list -j | grep -q "\"pid\": $pid, \"program\": \"kudp\", \"mode\": \"preload\"" ||
		fail "list -j: $("$ctl" list -j)"
	;;
conns)
	ulimit -n 8192 # the server's 3,000 connections (kmany below)
	run_vs "$VSEMU_TMP/srv" "$VS_BUILD/bench/epoll_echo" 7000 &
	wait_for_line "$VSEMU_TMP/srv" ready
	wait_for_line "$VSEMU_TMP/srv" "control: serving"
	# The client holds its connection until the namespace goes.
	netns_exec b bash -c 'exec 3<>/dev/tcp/10.77.1.1/7000; echo hi >&3; read l <&3; echo "$l" >'"$VSEMU_TMP/echoed"'; exec sleep 600' &
	wait_until 10 "the client's echo" test -s "$VSEMU_TMP/echoed" || fail "no echo"
	cport=$(netns_exec b ss -Htn state established '( dport = :7000 )' | awk '{ split($3, a, ":"); print a[2] }')
	[ -n "$cport" ] || fail "the client's connection is not established"
	out=$("$ctl" conns)
	echo "$out"
	echo "$out" | grep -Eq "^tcp +ESTAB +10\.77\.1\.1:7000 +10\.77\.1\.2:$cport " ||
		fail "conns: no ESTAB 10.77.1.1:7000 <- 10.77.1.2:$cport"
	echo "$out" | grep -Eq '^tcp +LISTEN +(\[::\]|0\.0\.0\.0):7000 ' || fail "conns: no listener"
	# 3,000 more: a reply of several parts (~300 KB), made in pages.
	# Six waves of 500, each within the server's listen backlog (512).
	for w in 1 2 3 4 5 6; do
		netns_exec b env KMANY_HOLD=1 "$VS_BUILD/tests/kmany" 10.77.1.1 7000 500 >"$VSEMU_TMP/kmany.$w" 2>&1 &
		wait_until 60 "kmany's 500 connections (wave $w)" grep -q "holding 500" "$VSEMU_TMP/kmany.$w" ||
			fail "kmany: $(cat "$VSEMU_TMP/kmany.$w")"
	done
	n=$("$ctl" conns | grep -Ec "^tcp +ESTAB +10\.77\.1\.1:7000 +10\.77\.1\.2:")
	[ "$n" = 3001 ] || fail "conns: $n ESTAB rows, not 3001"
	n=$("$ctl" conns -j | grep -c '"state": "ESTAB"')
	[ "$n" = 3001 ] || fail "conns -j: $n ESTAB objects, not 3001"
	"$ctl" conns -j | head -c 1 | grep -q '\[' || fail "conns -j: not an array"
	"$ctl" conns -j | tail -n 1 | grep -q '}]$' || fail "conns -j: the array is not closed"
	sum=$("$ctl" conns -s)
	echo "$sum"
	[ "$(col "$sum" '^all +tcp +ESTAB ' count)" = 3001 ] || fail "conns -s: all tcp ESTAB"
	[ "$(col "$sum" '^ *0 +tcp +ESTAB ' count)" = 3001 ] || fail "conns -s: core 0 tcp ESTAB"
	[ "$(col "$sum" '^all +all +all ' count)" -ge 3002 ] || fail "conns -s: the total"
	out=$("$ctl" conns --state listen)
	[ "$(echo "$out" | tail -n +2 | grep -cv LISTEN)" = 0 ] && echo "$out" | grep -q LISTEN ||
		fail "conns --state listen: $out"
	[ "$("$ctl" conns --peer 10.77.1.2 --state ESTAB | tail -n +2 | wc -l)" = 3001 ] || fail "conns --peer"
	[ "$("$ctl" conns --peer 10.77.1.9 | wc -l)" = 1 ] || fail "conns --peer 10.77.1.9: not only the header"
	[ "$("$ctl" conns -S ESTAB -P "$cport" | tail -n +2 | wc -l)" = 1 ] || fail "conns --port $cport"
	if "$ctl" conns --port 70000 2>"$VSEMU_TMP/err"; then fail "port 70000 accepted"; fi
	grep -q "bad port '70000'" "$VSEMU_TMP/err" || fail "--port 70000: $(cat "$VSEMU_TMP/err")"
	if "$ctl" conns --peer nowhere 2>"$VSEMU_TMP/err"; then fail "peer nowhere accepted"; fi
	grep -q "bad peer address 'nowhere'" "$VSEMU_TMP/err" || fail "--peer nowhere: $(cat "$VSEMU_TMP/err")"
	out=$("$ctl" config)
	echo "$out"
	echo "$out" | grep -Eq '^device += mlx5_0 +# env$' || fail "config: device"
	echo "$out" | grep -Eq '^cores += 1 +# env$' || fail "config: cores"
	"$ctl" set loglevel debug | grep -q 'log level debug' || fail "set loglevel"
	wait_for_line "$VSEMU_TMP/srv" "control: log level set to debug"
	if "$ctl" set loglevel loud 2>"$VSEMU_TMP/err"; then fail "a bad level was accepted"; fi
	grep -q "bad level 'loud'" "$VSEMU_TMP/err" || fail "bad level message: $(cat "$VSEMU_TMP/err")"
	if "$ctl" conns -p 1 2>"$VSEMU_TMP/err"; then fail "pid 1 accepted"; fi
	grep -q 'process 1 is not a vstack process' "$VSEMU_TMP/err" || fail "-p 1: $(cat "$VSEMU_TMP/err")"
	;;
auth)
	run_vs "$VSEMU_TMP/srv" "$VS_BUILD/bench/epoll_echo" 7000 &
	wait_for_line "$VSEMU_TMP/srv" "control: serving"
	chmod 755 "$VSEMU_TMP" "$VSTACK_CONTROL_DIR"
	as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
	if as_nobody "$ctl" conns 2>"$VSEMU_TMP/err"; then fail "another uid was answered (mode 0600)"; fi
	cat "$VSEMU_TMP/err"
	grep -q 'Permission denied' "$VSEMU_TMP/err" || fail "the socket's mode did not refuse"
	chmod 666 "$VSTACK_CONTROL_DIR"/*.sock
	if as_nobody "$ctl" conns 2>"$VSEMU_TMP/err"; then fail "another uid was answered by the server"; fi
	cat "$VSEMU_TMP/err"
	grep -q 'permission denied' "$VSEMU_TMP/err" || fail "the server did not refuse"
	wait_for_line "$VSEMU_TMP/srv" "refused a client of uid 65534"
	"$ctl" conns >/dev/null || fail "root was refused"
	# The same uid without CAP_NET_ADMIN may look, not change the NIC or
	# make the process write files.
	no_admin() { setpriv --bounding-set=-net_admin --inh-caps=-all "$@"; }
	no_admin "$ctl" stats >/dev/null || fail "stats needs no CAP_NET_ADMIN"
	for cmd in "flow add udp dport 7400 drop:flow_add" \
		"flow del 1:flow_del" "capture -w $VSEMU_TMP/x.pcap -c 1 udp:capture_start"; do
		if no_admin "$ctl" ${cmd%%:*} 2>"$VSEMU_TMP/err"; then
			fail "accepted without CAP_NET_ADMIN: ${cmd%%:*}"
		fi
		grep -q "${cmd#*:} needs CAP_NET_ADMIN" "$VSEMU_TMP/err" ||
			fail "${cmd%%:*}: $(cat "$VSEMU_TMP/err")"
	done
	[ ! -e "$VSEMU_TMP/x.pcap" ] || fail "the capture file was written"
	;;
dir)
	# Control directories another user could tamper with are refused;
	# the program runs on vstack all the same.
	mkdir "$VSEMU_TMP/real" "$VSEMU_TMP/ww" "$VSEMU_TMP/other"
	ln -s "$VSEMU_TMP/real" "$VSEMU_TMP/link"
	chmod 777 "$VSEMU_TMP/ww"
	chown 65534 "$VSEMU_TMP/other"
	for c in "link:a symbolic link" "ww:writable by others" "other:owned by another user"; do
		d=$VSEMU_TMP/${c%%:*}
		VSTACK_CONTROL_DIR=$d run_vs "$VSEMU_TMP/srv.${c%%:*}" "$VS_BUILD/bench/epoll_echo" 7000 &
		wait_for_line "$VSEMU_TMP/srv.${c%%:*}" "control: $d: ${c#*:}; refused as the control directory" ||
			fail "${c%%:*}: not refused"
		netns_exec b timeout 10 "$VS_BUILD/tests/kbulk" 10.77.1.1 7000 1 ||
			fail "${c%%:*}: the server does not echo"
		socks=$(find "$d/" "$VSEMU_TMP/real" -name '*.sock')
		[ -z "$socks" ] || fail "${c%%:*}: a socket was made: $socks"
		netns_kill a TERM epoll_echo
		gone() { [ -z "$(netns_pidof a epoll_echo)" ]; }
		wait_until 10 "the server to stop" gone || fail "the server did not stop"
	done
	;;
group)
	d=$VSTACK_CONTROL_DIR
	mkdir -p "$d"
	chgrp nogroup "$d"
	chmod 3775 "$d"
	chmod 755 "$VSEMU_TMP"
	run_vs "$VSEMU_TMP/srv" "$VS_BUILD/bench/epoll_echo" 7000 &
	wait_for_line "$VSEMU_TMP/srv" "control: serving"
	sock=$(ls "$d"/*.sock)
	[ "$(stat -c %G:%a "$sock")" = nogroup:660 ] ||
		fail "the socket is $(stat -c %G:%a "$sock"), not nogroup:660"
	# uid nobody, group daemon (1), in nogroup or not
	member() { setpriv --reuid=65534 --regid=1 --groups=65534 "$@"; }
	primary() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
	outsider() { setpriv --reuid=65534 --regid=1 --clear-groups "$@"; }
	member "$ctl" stats >/dev/null || fail "a member of the group was refused"
	primary "$ctl" conns >/dev/null || fail "the group's own gid was refused"
	if outsider "$ctl" conns 2>"$VSEMU_TMP/err"; then fail "an outsider was answered (mode 0660)"; fi
	grep -q 'Permission denied' "$VSEMU_TMP/err" || fail "the socket's mode did not refuse: $(cat "$VSEMU_TMP/err")"
	chmod 666 "$sock"
	if outsider "$ctl" conns 2>"$VSEMU_TMP/err"; then fail "an outsider was answered by the server"; fi
	grep -q 'permission denied' "$VSEMU_TMP/err" || fail "the server did not refuse: $(cat "$VSEMU_TMP/err")"
	wait_for_line "$VSEMU_TMP/srv" "refused a client of uid 65534"
	netns_kill a TERM epoll_echo
	gone() { [ -z "$(netns_pidof a epoll_echo)" ]; }
	wait_until 10 "the server to stop" gone || fail "the server did not stop"
	chmod o-t "$d"
	run_vs "$VSEMU_TMP/srv2" "$VS_BUILD/bench/epoll_echo" 7000 &
	wait_for_line "$VSEMU_TMP/srv2" "control: $d: writable by its group but not root's and sticky; refused" ||
		fail "a group-writable directory without the sticky bit was not refused"
	netns_exec b timeout 10 "$VS_BUILD/tests/kbulk" 10.77.1.1 7000 1 ||
		fail "the server does not echo"
	;;
malformed)
	run_vs "$VSEMU_TMP/srv" "$VS_BUILD/bench/epoll_echo" 7000 &
	wait_for_line "$VSEMU_TMP/srv" "control: serving"
	sock=$(ls "$VSTACK_CONTROL_DIR"/*.sock)
	"$VS_BUILD/tests/ctl_fuzz" "$sock" 300 || fail "ctl_fuzz"
	netns_exec b timeout 10 "$VS_BUILD/tests/kbulk" 10.77.1.1 7000 1 || fail "the server stopped echoing"
	"$ctl" conns >/dev/null || fail "vstackctl after the fuzzing"
	;;
capture)
	run_vs "$VSEMU_TMP/srv" "$VS_BUILD/tests/kudp" echo 7400 1000 &
	wait_for_line "$VSEMU_TMP/srv" "control: serving"
	"$ctl" capture -w "$VSEMU_TMP/cap.pcap" -c 6 udp port 7400 >"$VSEMU_TMP/capout" 2>&1 &
	cap=$!
	wait_for_line "$VSEMU_TMP/capout" "capturing on process"
	netns_exec b "$VS_BUILD/tests/kudp" client 10.77.1.1 7400 1 1000 1452 || fail "echo"
	timeout 10 tail --pid=$cap -f /dev/null || fail "capture did not end after 6 frames"
	wait $cap || fail "vstackctl capture: $(cat "$VSEMU_TMP/capout")"
	cat "$VSEMU_TMP/capout"
	tcpdump -nn -r "$VSEMU_TMP/cap.pcap" >"$VSEMU_TMP/dump" 2>/dev/null || fail "tcpdump -r"
	cat "$VSEMU_TMP/dump"
	[ "$(wc -l <"$VSEMU_TMP/dump")" = 6 ] || fail "$(wc -l <"$VSEMU_TMP/dump") frames, not 6"
	# tshark reads the same file: the same 6 frames, 3 each way.
	tshark -r "$VSEMU_TMP/cap.pcap" -T fields -e ip.src -e udp.dstport -e udp.length \
		>"$VSEMU_TMP/tshark" 2>/dev/null || fail "tshark -r"
	cat "$VSEMU_TMP/tshark"
	[ "$(wc -l <"$VSEMU_TMP/tshark")" = 6 ] || fail "tshark: $(wc -l <"$VSEMU_TMP/tshark") frames"
	[ "$(grep -c $'^10.77.1.2\t7400\t' "$VSEMU_TMP/tshark")" = 3 ] || fail "tshark: not 3 datagrams in"
	for n in 1 1000 1452; do
		grep -q "10.77.1.2.[0-9]* > 10.77.1.1.7400: UDP, length $n$" "$VSEMU_TMP/dump" ||
			fail "no $n-byte datagram in"
		grep -q "10.77.1.1.7400 > 10.77.1.2.[0-9]*: UDP, length $n$" "$VSEMU_TMP/dump" ||
			fail "no $n-byte echo out"
	done
	# A filter that excludes the exchange: stopped by hand, nothing written.
	: >"$VSEMU_TMP/capout" # here: the job's redirection may come after the wait
	"$ctl" capture -w "$VSEMU_TMP/none.pcap" tcp port 9 >>"$VSEMU_TMP/capout" 2>&1 &
	cap=$!
	wait_for_line "$VSEMU_TMP/capout" "capturing on process"
	netns_exec b "$VS_BUILD/tests/kudp" client 10.77.1.1 7400 1 1000 1452 || fail "echo"
	kill -INT $cap
	wait $cap || fail "capture stopped by hand: $(cat "$VSEMU_TMP/capout")"
	cat "$VSEMU_TMP/capout"
	grep -q '^0 frames written' "$VSEMU_TMP/capout" || fail "the filter let frames through"
	[ "$(tcpdump -nn -r "$VSEMU_TMP/none.pcap" 2>/dev/null | wc -l)" = 0 ] || fail "frames in none.pcap"
	if "$ctl" capture -w "$VSEMU_TMP/bad.pcap" udp port banana 2>"$VSEMU_TMP/err"; then
		fail "a bad filter was accepted"
	fi
	cat "$VSEMU_TMP/err"
	grep -q "filter 'udp port banana'" "$VSEMU_TMP/err" || fail "bad filter message"
	;;
flow)
	run_vs "$VSEMU_TMP/srv" "$VS_BUILD/tests/kudp" echo 7400 1000 &
	wait_for_line "$VSEMU_TMP/srv" "control: serving"
	netns_exec b "$VS_BUILD/tests/kudp" client 10.77.1.1 7400 100 || fail "echo before"
	out=$("$ctl" flow add udp src 10.77.1.2 dport 7400 drop) || fail "flow add: $out"
	echo "$out"
	id=$(awk '{ print $2 }' <<<"$out")
	if netns_exec b "$VS_BUILD/tests/kudp" client 10.77.1.1 7400 100; then
		fail "the dropped peer got its echo"
	fi
	out=$("$ctl" flow list)
	echo "$out"
	[ "$(col "$out" "^ *$id " hits)" = 3 ] || fail "hits: $(col "$out" "^ *$id " hits), not 3"
	[ "$(col "$out" "^ *$id " action)" = drop ] || fail "list: $out"
	"$ctl" flow del "$id" | grep -q "flow $id deleted" || fail "flow del"
	netns_exec b "$VS_BUILD/tests/kudp" client 10.77.1.1 7400 100 || fail "echo after flow del"
	[ "$("$ctl" flow list | wc -l)" = 1 ] || fail "a rule is left: $("$ctl" flow list)"
	for bad in "dport 7400 drop:ports need" \
		"udp src 10.0.0.300 drop:bad address '10.0.0.300'" \
		"udp src 10.0.0.1/8 drop:bits set past its prefix length" \
		"udp dport 0 drop:bad dport '0'" "udp sport 3/1 drop:bad sport '3/1'" "udp steer 9:steer needs core=0..0" "udp:needs action"; do
		if "$ctl" flow add ${bad%%:*} 2>"$VSEMU_TMP/err"; then fail "accepted: ${bad%%:*}"; fi
		grep -q "${bad#*:}" "$VSEMU_TMP/err" || fail "${bad%%:*}: $(cat "$VSEMU_TMP/err")"
	done
	"$ctl" flow del 99 2>&1 | grep -q 'no flow 99' || fail "flow del 99"
	# A kernel rule: sockets bound after it that it covers stay the kernel's.
	mkfifo "$VSEMU_TMP/cmd"
	run_vs "$VSEMU_TMP/late" "$VS_BUILD/tests/late_bind" <"$VSEMU_TMP/cmd" &
	exec 5>"$VSEMU_TMP/cmd"
	wait_for_line "$VSEMU_TMP/late" ready
	echo 7401 >&5 # vstack starts with a process's first socket
	wait_for_line "$VSEMU_TMP/late" "control: serving"
	lpid=$("$ctl" list | awk '$2 == "late_bind" { print $1 }')
	out=$("$ctl" flow -p "$lpid" add udp dport 7402 kernel) || fail "kernel rule: $out"
	echo "$out"
	echo 7402 >&5
	echo 7403 >&5
	wait_for_line "$VSEMU_TMP/late" "bound 7403"
	out=$("$ctl" conns -p "$lpid")
	echo "$out"
	grep -q ':7403 ' <<<"$out" || fail "the socket on 7403 is not vstack's"
	grep -q ':7402 ' <<<"$out" && fail "the socket on 7402 is vstack's despite the kernel rule"
	"$ctl" flow -p "$lpid" list | grep -Eq ' kernel +- *$' || fail "list: $("$ctl" flow -p "$lpid" list)"
	exec 5>&-
	;;
run)
	expect_fail() { # MESSAGE ARGS...: vstack run fails with MESSAGE, PROGRAM not run
		local msg=$1
		shift
		rm -f "$VSEMU_TMP/ran"
		if netns_exec a env VSEMU_DIR="$VSEMU_DIR" LD_PRELOAD="$VS_SAN_PRELOAD$VSEMU_LIB/libvsemu.so" \
			"$@" >"$VSEMU_TMP/err" 2>&1; then fail "succeeded: $*"; fi
		cat "$VSEMU_TMP/err"
		grep -q -- "$msg" "$VSEMU_TMP/err" || fail "no '$msg' in: $(cat "$VSEMU_TMP/err")"
		[ ! -e "$VSEMU_TMP/ran" ] || fail "the program ran: $*"
	}
	expect_fail "mlx5_9: no such RDMA device or netdev" \
		"$launch" run --device mlx5_9 -- touch "$VSEMU_TMP/ran"
	chmod 755 "$VSEMU_TMP"
	expect_fail "needs CAP_NET_RAW" setpriv --reuid=65534 --regid=65534 --clear-groups \
		--inh-caps=-all "$launch" run --device mlx5_0 -- touch "$VSEMU_TMP/ran"
	expect_fail "key 'cores': bad value 'many'" \
		"$launch" run --device mlx5_0 --cores many -- touch "$VSEMU_TMP/ran"
	expect_fail "cannot run /nonexistent" "$launch" run --device mlx5_0 -- /nonexistent
	# A program the loader would run in secure execution (LD_PRELOAD
	# ignored: silently on the kernel) is refused, with the way out.
	cp "$(command -v touch)" "$VSEMU_TMP/capped"
	setcap cap_net_raw+ep "$VSEMU_TMP/capped"
	expect_fail "has file capabilities (setcap).*--user USER" \
		"$launch" run --device mlx5_0 -- "$VSEMU_TMP/capped" "$VSEMU_TMP/ran"
	expect_fail "no such user" "$launch" run --user no-such-user-vs --device mlx5_0 -- touch "$VSEMU_TMP/ran"
	expect_fail "needs CAP_SYS_ADMIN; run it as root" "$launch" run --user nobody --device xdp:to_b -- touch "$VSEMU_TMP/ran"
	expect_fail "needs root" setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$launch" run --user nobody --device mlx5_0 -- touch "$VSEMU_TMP/ran"
	# As root with --user: the program runs as nobody:nogroup with
	# CAP_NET_RAW (ambient: no secure execution) and on vstack.
	mkdir -p "$VSEMU_TMP/ctl-nobody"
	chown nobody:nogroup "$VSEMU_TMP/ctl-nobody"
	chmod 700 "$VSEMU_TMP/ctl-nobody"
	netns_exec a env VSEMU_DIR="$VSEMU_DIR" LD_PRELOAD="$VS_SAN_PRELOAD$VSEMU_LIB/libvsemu.so" \
		VSTACK_CONTROL_DIR="$VSEMU_TMP/ctl-nobody" VSTACK_LOG=info \
		"$launch" run --user nobody:nogroup --device mlx5_0 --cores 1 -- \
		"$VS_BUILD/bench/epoll_echo" 7001 >"$VSEMU_TMP/srv.user" 2>&1 &
	wait_for_line "$VSEMU_TMP/srv.user" "listening on vstack, port 7001" || fail "vstack run --user: not on vstack"
	upid=$(netns_pidof a epoll_echo)
	[ "$(stat -c %U:%G "/proc/$upid")" = nobody:nogroup ] || fail "the program runs as $(stat -c %U:%G "/proc/$upid")"
	grep -q '^CapAmb:.*0000000000002000$' "/proc/$upid/status" || fail "ambient capabilities: $(grep Cap "/proc/$upid/status")"
	grep -q '^CapEff:.*0000000000002000$' "/proc/$upid/status" || fail "effective capabilities: $(grep Cap "/proc/$upid/status")"
	netns_exec b timeout 10 "$VS_BUILD/tests/kbulk" 10.77.1.1 7001 1 || fail "echo through vstack run --user"
	[ "$(VSTACK_CONTROL_DIR="$VSEMU_TMP/ctl-nobody" vs_snmp "$upid" Tcp.PassiveOpens)" -ge 1 ] ||
		fail "vstack did not accept the connection of the program run as nobody"
	kill "$upid"
	# And when all is well, the program runs on vstack.
	run_vs "$VSEMU_TMP/srv" "$VS_BUILD/bench/epoll_echo" 7000 &
	wait_for_line "$VSEMU_TMP/srv" "listening on vstack, port 7000"
	netns_exec b timeout 10 "$VS_BUILD/tests/kbulk" 10.77.1.1 7000 1 || fail "echo through vstack run"
	"$launch" --help | grep -q '^usage: vstack run' || fail "vstack --help"
	;;
esac
echo "ctl.$what: ok"
