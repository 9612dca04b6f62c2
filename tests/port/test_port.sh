# port.conformance.verbs / port.errors: the vs_port suite (test_port.c)
# on an emulated ConnectX port in one namespace; the peer is a raw socket
# on the other end of the cable.
#   test_port.sh conformance|errors
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"

netns_create a b
netns_link a b
ip -n "$(netns_name a)" link set to_b mtu 9000
ip -n "$(netns_name b)" link set to_a mtu 9000
VSEMU_ARGS="--mtu 9000" vsemu_start a mlx5_0 to_b 10.77.1.1/24
netns_exec a env VS_TEST_SUITE="$1" VS_TEST_DEVICE=mlx5_0 \
	VS_TEST_IFNAME=vsmlx5_0 VS_TEST_PEER_IF=to_a \
	VS_TEST_PEER_NS="/run/netns/$(netns_name b)" VSEMU_DIR="$VSEMU_DIR" \
	VS_TEST_STATS="$VSEMU_BIN stats --dir $VSEMU_DIR mlx5_0" \
	CK_DEFAULT_TIMEOUT=30 "$VS_BUILD/tests/test_port"
