# stack.netif_tcp_echo / stack.engine: lwIP on the emulated ConnectX
# answers kernel TCP peers through the NIC: IPv4 and IPv6, a short
# exchange and 1 MiB each way checked byte for byte. The first packet to
# the peer waits for the kernel to resolve its MAC.
#   test_netif_echo.sh netif_echo    lwIP driven by the test's own loop
#   test_netif_echo.sh engine_echo   by an engine thread, set up by a
#                                    posted call; then the idle engine
#                                    must sleep
set -eu
prog=$1
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP/echo" >&2; exit 1; }

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24 fd77:1::1/64
netns_exec a env VSEMU_DIR="$VSEMU_DIR" LD_PRELOAD="$VS_SAN_PRELOAD$VS_BUILD/emu/libvsemu.so" \
	"$VS_BUILD/tests/$prog" mlx5_0 7000 3 >"$VSEMU_TMP/echo" 2>&1 &
server=$!
wait_for_line "$VSEMU_TMP/echo" ready
# The peer knows the port's MAC without asking (so its ARP request does
# not teach a's kernel the peer's MAC): vstack's first answer must wait
# for the kernel to resolve the peer.
netns_exec b ip neigh replace 10.77.1.1 lladdr 02:76:73:00:00:00 dev to_a nud permanent
netns_exec a ip neigh flush dev vsmlx5_0

exchange() { # ADDR: one line there and back
	netns_exec b timeout 10 bash -c "exec 3<>/dev/tcp/$1/7000; echo 'hello vstack' >&3; read -t 5 line <&3; echo \"\$line\"; exec 3>&-"
}
[ "$(exchange 10.77.1.1)" = "hello vstack" ] || fail "IPv4 echo"
[ "$(exchange fd77:1::1)" = "hello vstack" ] || fail "IPv6 echo"
head -c 1048576 /dev/urandom > "$VSEMU_TMP/mb"
netns_exec b timeout 30 bash -c "exec 3<>/dev/tcp/10.77.1.1/7000; (cat '$VSEMU_TMP/mb' >&3) & head -c 1048576 <&3 > '$VSEMU_TMP/back'; wait; exec 3>&-" ||
	fail "1 MiB exchange"
cmp "$VSEMU_TMP/mb" "$VSEMU_TMP/back" || fail "1 MiB came back different"
wait "$server" || fail "the server"
cat "$VSEMU_TMP/echo"
grep -qE "waited-for-neighbour [1-9][0-9]* timed-out 0" "$VSEMU_TMP/echo" ||
	fail "no packet waited for the kernel to resolve the peer"
if [ "$prog" = engine_echo ]; then
	grep -qE "idle engine: [0-9.]+ ms of CPU" "$VSEMU_TMP/echo" || fail "no idle measurement"
fi
echo "$prog: ok"
