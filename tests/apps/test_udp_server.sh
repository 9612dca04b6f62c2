# SPDX-License-Identifier: MIT
# apps.udp_server: a real single-threaded UDP request/response server on
# vstack (LD_PRELOAD): dnsmasq answering 1,000 names from its hosts file,
# as it runs by default (the unspecified addresses, IPv4 and IPv6, each
# datagram's destination and interface from IP_PKTINFO/IPV6_PKTINFO, its
# answer sent from that address), dnsperf in the peer namespace at full
# rate (4 clients, 100 queries outstanding) for UDP_SECS (5) seconds
# over IPv4, then 2 s over IPv6. Every query answered, none lost, and
# vstack's counters show it carried them (Udp.InDatagrams and
# OutDatagrams at least the queries dnsperf completed).
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
d=$VSEMU_TMP
fail() { echo "FAIL: $*" >&2; cat "$d/dnsmasq" "$d/perf" >&2 2>/dev/null; exit 1; }
command -v dnsmasq >/dev/null && command -v dnsperf >/dev/null ||
	{ echo "dnsmasq or dnsperf missing: run scripts/setup"; exit 77; }
# dnsmasq with the ASan runtime preloaded (the sanitizer stage), even
# without vstack, never gets past its first textdomain() call (glibc's
# _nl_state_lock): the gcc stage runs this test.
if [ -n "${VS_SAN_RUNTIME:-}" ] &&
	! LD_PRELOAD=$VS_SAN_RUNTIME timeout 5 dnsmasq --version >/dev/null 2>&1; then
	echo "dnsmasq hangs with the ASan runtime preloaded (without vstack too); skipped here"
	exit 77
fi
secs=${UDP_SECS:-5}

for i in $(seq 1000); do echo "10.99.$((i / 250)).$((i % 250 + 1)) host$i.test"; done >"$d/hosts"
for i in $(seq 1000); do echo "host$i.test A"; done >"$d/queries"
netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24 fd77:1::1/64
: >"$d/dnsmasq" # here: the job's redirection may come after the wait
# dnsmasq's defaults but: no upstream, no cache eviction, root all along
# (dropping it is apps.nginx_user's matter). Any IP_PKTINFO setting that
# sent the socket to the kernel would show as datagrams vstack did not
# carry.
VSTACK_LOG=info vstack_exec a mlx5_0 dnsmasq -k --no-resolv --no-hosts \
	--addn-hosts="$d/hosts" --port=53 --cache-size=2000 --user=root \
	--pid-file= --log-facility=- >>"$d/dnsmasq" 2>&1 &
wait_for_line "$d/dnsmasq" "UDP on vstack" || fail "dnsmasq's UDP socket is not on vstack"
pid=$(netns_pidof a dnsmasq)
total=0
for server in 10.77.1.1 fd77:1::1; do
	t=$secs
	[ $server = 10.77.1.1 ] || t=2
	netns_exec b timeout $((t + 30)) dnsperf -s $server -d "$d/queries" -c 4 -q 100 \
		-l "$t" -t 2 >"$d/perf" 2>&1 || fail "dnsperf to $server failed"
	cat "$d/perf"
	done_=$(sed -n 's/^ *Queries completed: *\([0-9]*\).*/\1/p' "$d/perf")
	lost=$(sed -n 's/^ *Queries lost: *\([0-9]*\).*/\1/p' "$d/perf")
	noerr=$(sed -n 's/^ *Response codes: *NOERROR \([0-9]*\).*/\1/p' "$d/perf")
	[ "${done_:-0}" -gt 1000 ] || fail "$server: dnsperf completed ${done_:-no} queries"
	[ "${lost:-1}" = 0 ] || fail "$server: $lost queries lost"
	[ "${noerr:-0}" = "$done_" ] || fail "$server: ${noerr:-no} of $done_ answers were NOERROR"
	echo "$server: $done_ queries, $(sed -n 's/^ *Queries per second: *\([0-9]*\).*/\1/p' "$d/perf")/s"
	total=$((total + done_))
done
grep -q "the kernel carries" "$d/dnsmasq" && fail "a socket of dnsmasq went back to the kernel"
in=$(vs_snmp "$pid" Udp.InDatagrams) out=$(vs_snmp "$pid" Udp.OutDatagrams)
[ "${in:-0}" -ge "$total" ] && [ "${out:-0}" -ge "$total" ] ||
	fail "vstack carried ${in:-no} datagrams in and ${out:-no} out, fewer than the $total queries answered"
echo "apps.udp_server: ok ($total queries; vstack: $in in, $out out)"
