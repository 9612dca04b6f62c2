# examples.echo: vs-echo (the native API's TCP echo server, two
# contexts sharing the listener) answers kernel clients through the
# emulated ConnectX: 64 MiB echoed byte-exact over IPv4, 1,000
# connections at once, IPv6. Nothing in namespace a listens on the
# kernel, so every answer is vstack's.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP/echo" >&2; exit 1; }

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24 fd77:1::1/64
netns_exec a env VSEMU_DIR="$VSEMU_DIR" LD_PRELOAD="$VSEMU_LIB/libvsemu.so" \
	VSTACK_DEVICE=mlx5_0 VSTACK_LOG=warn \
	"$VS_BUILD/examples/vs-echo" -c 2 7000 >"$VSEMU_TMP/echo" 2>&1 &
wait_for_line "$VSEMU_TMP/echo" ready
netns_exec b timeout 60 "$VS_BUILD/tests/kbulk" 10.77.1.1 7000 64 ||
	fail "64 MiB echo over IPv4"
netns_exec b timeout 60 "$VS_BUILD/tests/kmany" 10.77.1.1 7000 1000 ||
	fail "1000 connections"
netns_exec b timeout 30 "$VS_BUILD/tests/kbulk" fd77:1::1 7000 4 ||
	fail "4 MiB echo over IPv6"
netns_exec a pkill -TERM -x vs-echo
for i in $(seq 50); do netns_exec a pgrep -x vs-echo >/dev/null || break; sleep 0.1; done
netns_exec a pgrep -x vs-echo >/dev/null && fail "vs-echo did not stop on SIGTERM"
cat "$VSEMU_TMP/echo"
echo "examples.echo: ok"
