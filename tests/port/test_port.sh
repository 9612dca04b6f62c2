# port.conformance.verbs / port.errors / port.conformance.xdp /
# port.errors.xdp: the vs_port suite (test_port.c) on an emulated
# ConnectX port, or on the xdp backend over a veth of 4 queues, in one
# namespace; the peer is a raw socket on the other end of the cable.
#   test_port.sh conformance|errors [verbs|xdp]
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
. "$(dirname "$0")/../lib/xdp.sh"

backend=${2:-verbs}
if [ "$backend" = xdp ]; then
	NETNS_QUEUES=4 netns_create a b
	NETNS_QUEUES=4 netns_link a b
	xdp_cable a to_b
	# Every peer frame arrives on queue 0: the engines of other queues
	# get theirs through the backend's handoff.
	xdp_pin_peer a to_b 0
	netns_exec a env VS_TEST_SUITE="$1" VS_TEST_BACKEND=xdp \
		VS_TEST_DEVICE=xdp:to_b VS_TEST_IFNAME=to_b VS_TEST_MTU=1500 \
		VS_TEST_PEER_IF=to_a VS_TEST_PEER_NS="/run/netns/$(netns_name b)" \
		CK_DEFAULT_TIMEOUT=30 "$VS_BUILD/tests/test_port"
	xdp_attached a to_b && { echo "FAIL: an XDP program is left on to_b" >&2; exit 1; }
	exit 0
fi
netns_create a b
netns_link a b
ip -n "$(netns_name a)" link set to_b mtu 9000
ip -n "$(netns_name b)" link set to_a mtu 9000
VSEMU_ARGS="--mtu 9000" vsemu_start a mlx5_0 to_b 10.77.1.1/24
netns_exec a env VS_TEST_SUITE="$1" VS_TEST_DEVICE=mlx5_0 \
	VS_TEST_IFNAME=vsmlx5_0 VS_TEST_PEER_IF=to_a VS_TEST_MTU=9000 \
	VS_TEST_PEER_NS="/run/netns/$(netns_name b)" VSEMU_DIR="$VSEMU_DIR" \
	VS_TEST_STATS="$VSEMU_BIN stats --dir $VSEMU_DIR mlx5_0" \
	CK_DEFAULT_TIMEOUT=30 "$VS_BUILD/tests/test_port"
