# netns.ping: two namespaces joined by a veth pair reach each other over
# IPv4 and IPv6, and a third namespace on a second link is reachable from
# the middle one only (no accidental routing).
set -eu
. "$(dirname "$0")/../lib/netns.sh"

netns_create a b c
netns_link a b
netns_link b c

netns_exec a ping -c 1 -W 2 "$(netns_addr b a 4)" >/dev/null
netns_exec b ping -c 1 -W 2 "$(netns_addr a b 4)" >/dev/null
netns_exec a ping -6 -c 1 -W 2 "$(netns_addr b a 6)" >/dev/null
netns_exec c ping -c 1 -W 2 "$(netns_addr b c 4)" >/dev/null
if netns_exec a ping -c 1 -W 1 "$(netns_addr c b 4)" >/dev/null 2>&1; then
	echo "FAIL: a reached c without a route" >&2
	exit 1
fi
echo "netns.ping: ok"
