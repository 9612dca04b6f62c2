# emu.wire_kernel_peer: vsemu wired to a veth pair. A kernel peer in the
# other namespace pings the emulated port's netdev (the TAP), over IPv4
# and IPv6; a frame matching a flow rule reaches the QP and not the
# kernel; with the rule removed, the kernel gets it again.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24 fd77:1::1/64

netns_exec b ping -c 2 -W 2 10.77.1.1 >/dev/null
netns_exec b ping -6 -c 2 -W 2 fd77:1::1 >/dev/null

out=$VSEMU_TMP/probe.out
netns_exec a env VSEMU_DIR="$VSEMU_DIR" "$VS_BUILD/tests/emu_probe" mlx5_0 5000 > "$out" 2>&1 &
probe=$!
wait_for_line "$out" ready
netns_exec b bash -c 'echo steered > /dev/udp/10.77.1.1/5000'
wait_for_line "$out" removed
# The kernel owns the port again: keep sending until it reads one.
for i in $(seq 20); do
	netns_exec b bash -c 'echo kernel > /dev/udp/10.77.1.1/5000'
	grep -q "kernel got it" "$out" && break
	sleep 0.2
done
wait "$probe" || { cat "$out" >&2; echo "FAIL: probe" >&2; exit 1; }
grep -q "qp got .* from 10.77.1.2" "$out" || { cat "$out" >&2; exit 1; }
vsemu stats mlx5_0 | tee "$VSEMU_TMP/stats"
grep -q "rx_no_match [1-9]" "$VSEMU_TMP/stats"
echo "emu.wire_kernel_peer: ok"
