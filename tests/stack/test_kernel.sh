# stack.kernel_tables: the kernel control plane module against a real
# kernel, in namespace a; the peer (for resolution) in b.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
netns_create a b
netns_link a b
peer_mac=$(ip -n "$(netns_name b)" -br link show to_a | awk '{print $3}')
netns_exec a env VS_TEST_IF=to_b VS_TEST_PEER_MAC="$peer_mac" \
	CK_DEFAULT_TIMEOUT=20 "$VS_BUILD/tests/test_kernel"
