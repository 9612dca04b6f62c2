# stack.neighbors: the engine follows the kernel's neighbour table
# without a restart. A vstack echo serves the peer; the peer's interface
# then takes another MAC, and once the kernel on vstack's side knows it
# (here told directly, as a gratuitous ARP would), the next connection is
# answered at the new MAC; the old one no longer receives anything.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP/srv" >&2; exit 1; }

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24
netns_exec a env VSEMU_DIR="$VSEMU_DIR" LD_PRELOAD="$VS_SAN_PRELOAD$VS_BUILD/emu/libvsemu.so" \
	VSTACK_LOG=error "$VS_BUILD/tests/bulk_echo" mlx5_0 7700 2 >"$VSEMU_TMP/srv" 2>&1 &
srv=$!
wait_for_line "$VSEMU_TMP/srv" ready
exchange() {
	netns_exec b timeout 10 bash -c "exec 3<>/dev/tcp/10.77.1.1/7700; echo 'hello again' >&3; read -t 5 line <&3; echo \"\$line\"; exec 3>&-"
}
[ "$(exchange)" = "hello again" ] || fail "first exchange"
# The peer's NIC changes; its kernel does not announce it, so the host's
# kernel is told as a gratuitous ARP would tell it.
netns_exec b ip link set to_a address 02:00:00:00:77:02
netns_exec a ip neigh replace 10.77.1.2 lladdr 02:00:00:00:77:02 dev vsmlx5_0 nud reachable
[ "$(exchange)" = "hello again" ] || fail "exchange after the MAC changed"
wait "$srv" || fail "the server"
cat "$VSEMU_TMP/srv"
echo "stack.neighbors: ok"
