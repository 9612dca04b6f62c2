# SPDX-License-Identifier: MIT
# apps.udp_server: a real single-threaded UDP request/response server on
# vstack (LD_PRELOAD): dnsmasq answering 1,000 names from its hosts file,
# dnsperf in the peer namespace at full rate (4 clients, 100 queries
# outstanding) for UDP_SECS (5) seconds. Every query answered, none lost,
# and vstack's counters show it carried them (Udp.InDatagrams and
# OutDatagrams at least the queries dnsperf completed).
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
d=$VSEMU_TMP
fail() { echo "FAIL: $*" >&2; cat "$d/dnsmasq" "$d/perf" >&2 2>/dev/null; exit 1; }
command -v dnsmasq >/dev/null && command -v dnsperf >/dev/null ||
	{ echo "dnsmasq or dnsperf missing: run scripts/setup"; exit 77; }
secs=${UDP_SECS:-5}

for i in $(seq 1000); do echo "10.99.$((i / 250)).$((i % 250 + 1)) host$i.test"; done >"$d/hosts"
for i in $(seq 1000); do echo "host$i.test A"; done >"$d/queries"
netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24
: >"$d/dnsmasq" # here: the job's redirection may come after the wait
# Bound to the address (--bind-interfaces), not the wildcard with
# IP_PKTINFO (which vstack leaves to the kernel); no upstream, no cache
# eviction, root all along (dropping it is apps.nginx_user's matter).
VSTACK_LOG=info vstack_exec a mlx5_0 dnsmasq -k --no-resolv --no-hosts \
	--addn-hosts="$d/hosts" --listen-address=10.77.1.1 --bind-interfaces \
	--port=53 --cache-size=2000 --user=root --pid-file= --log-facility=- \
	>>"$d/dnsmasq" 2>&1 &
wait_for_line "$d/dnsmasq" "UDP on vstack" || fail "dnsmasq's UDP socket is not on vstack"
pid=$(netns_pidof a dnsmasq)
netns_exec b timeout $((secs + 30)) dnsperf -s 10.77.1.1 -d "$d/queries" -c 4 -q 100 \
	-l "$secs" -t 2 >"$d/perf" 2>&1 || fail "dnsperf failed"
cat "$d/perf"
done_=$(sed -n 's/^ *Queries completed: *\([0-9]*\).*/\1/p' "$d/perf")
lost=$(sed -n 's/^ *Queries lost: *\([0-9]*\).*/\1/p' "$d/perf")
noerr=$(sed -n 's/^ *Response codes: *NOERROR \([0-9]*\).*/\1/p' "$d/perf")
[ "${done_:-0}" -gt 1000 ] || fail "dnsperf completed ${done_:-no} queries"
[ "${lost:-1}" = 0 ] || fail "$lost queries lost"
[ "${noerr:-0}" = "$done_" ] || fail "${noerr:-no} of $done_ answers were NOERROR"
in=$(vs_snmp "$pid" Udp.InDatagrams) out=$(vs_snmp "$pid" Udp.OutDatagrams)
[ "${in:-0}" -ge "$done_" ] && [ "${out:-0}" -ge "$done_" ] ||
	fail "vstack carried ${in:-no} datagrams in and ${out:-no} out, fewer than the $done_ queries answered"
echo "apps.udp_server: ok ($done_ queries, $(sed -n 's/^ *Queries per second: *\([0-9]*\).*/\1/p' "$d/perf")/s; vstack: $in in, $out out)"
