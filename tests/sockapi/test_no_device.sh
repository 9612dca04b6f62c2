# sockapi.no_device: on a machine without an RDMA device, with the real
# rdma-core (no emulator anywhere), whatever vstack cannot open leaves
# programs on the kernel with one warning each, and the tools that must
# have a device say so and exit non-zero. Never a crash or a hang.
#
#   - redis-server (LD_PRELOAD) serves kernel clients, and a preloaded
#     redis-cli talks to it, with VSTACK_DEVICE unset, mlx5_0, and a name that
#     does not exist; each process warns exactly once;
#   - the same with xdp:IFNAME as a user without privileges, and with an
#     interface that does not exist;
#   - vstack run --device mlx5_0 / xdp:... -- true, and the native API
#     (vs-echo), exit non-zero with the message.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh" # wait_for_line, VSEMU_TMP
fail() { echo "FAIL: $*" >&2; exit 1; }
for p in redis-server redis-cli setpriv; do
	command -v $p >/dev/null || fail "$p missing: run scripts/setup"
done
if [ -n "$(ls /sys/class/infiniband 2>/dev/null)" ]; then
	echo "SKIP: this machine has an RDMA device; the test needs none" >&2
	exit 77
fi
# The library must get rdma-core's libibverbs, not the emulator's.
lib=$(ldd "$VS_BUILD/libvstack.so" | awk '/libibverbs.so.1 =>/ {print $3}')
case $lib in
"" | "$VS_BUILD"/*) fail "libvstack.so does not load the system's libibverbs ($lib)" ;;
esac
unset LD_LIBRARY_PATH VSEMU_DIR VSEMU_MODE

netns_create a b
netns_link a b
tmp=$VSEMU_TMP
# A copy that a user without privileges can load (the build tree may sit
# under a private home directory).
chmod 755 "$tmp"
cp "$VS_BUILD/libvstack.so" "$tmp/libvstack.so"
chmod 644 "$tmp/libvstack.so"
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)

# one_warning LOG: exactly one "stays on the kernel" line, from vstack.
one_warning() {
	local n
	n=$(grep -c "every socket stays on the kernel" "$1" || true)
	[ "$n" = 1 ] || { cat "$1" >&2; fail "$2: $n warnings, want 1"; }
}

# preload_case NAME AS DEVICE: redis-server and redis-cli preloaded, as root
# or nobody, with VSTACK_DEVICE=DEVICE ("-" leaves it unset).
port=6390
preload_case() {
	local name=$1 as=$2 dev=$3 pid out
	local envs=(env -u VSTACK_DEVICE LD_PRELOAD="$VS_SAN_PRELOAD$tmp/libvstack.so")
	local run=()
	[ "$dev" = - ] || envs+=(VSTACK_DEVICE="$dev")
	[ "$as" = nobody ] && run=("${nobody[@]}")
	port=$((port + 1))
	netns_exec a "${run[@]}" "${envs[@]}" redis-server --port $port \
		--save "" --appendonly no --protected-mode no --dir "$tmp" \
		--logfile "" >"$tmp/$name.redis" 2>&1 &
	pid=$!
	wait_for_line "$tmp/$name.redis" "Ready to accept" || fail "$name: redis-server did not start"
	[ "$(netns_exec b timeout 10 redis-cli -h 10.77.1.1 -p $port set k v)" = OK ] ||
		fail "$name: SET from a kernel client"
	[ "$(netns_exec b timeout 10 redis-cli -h 10.77.1.1 -p $port get k)" = v ] ||
		fail "$name: GET from a kernel client"
	# A preloaded client. (Not curl: under the ASan stage the
	# sanitizer's runtime, preloaded into curl, deadlocks in
	# libgpg-error's constructor, which curl's libraries bring.)
	out=$(netns_exec b "${run[@]}" "${envs[@]}" timeout 10 redis-cli \
		-h 10.77.1.1 -p $port ping 2>"$tmp/$name.cli") ||
		{ cat "$tmp/$name.cli" >&2; fail "$name: redis-cli failed"; }
	[ "$out" = PONG ] || fail "$name: redis-cli got no PONG: $out"
	one_warning "$tmp/$name.cli" "$name: redis-cli"
	kill -0 "$pid" 2>/dev/null || fail "$name: redis-server died"
	one_warning "$tmp/$name.redis" "$name: redis-server"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	echo "  $name: kernel served, one warning: $(grep -m1 'stays on the kernel' "$tmp/$name.redis" | sed 's/^vstack\[[0-9]*\]: //')"
}

preload_case unset root -
preload_case mlx5_0 root mlx5_0
preload_case no_such_name root mlx9_9
preload_case xdp_unprivileged nobody xdp:to_b
preload_case xdp_no_such_interface root xdp:nosuch0
grep -q "CAP_NET_RAW" "$tmp/xdp_unprivileged.redis" ||
	fail "xdp as nobody: the warning does not name the privilege"

# Tools that must have the device: a message and a non-zero exit.
must_fail() { # NAME WANT CMD... (run in namespace a)
	local name=$1 want=$2 rc=0
	shift 2
	netns_exec a timeout 20 "$@" >"$tmp/$name.out" 2>&1 || rc=$?
	[ $rc != 0 ] || fail "$name: exited 0"
	[ $rc -lt 124 ] || { cat "$tmp/$name.out" >&2; fail "$name: killed or crashed (exit $rc)"; }
	grep -q -- "$want" "$tmp/$name.out" || { cat "$tmp/$name.out" >&2; fail "$name: no message '$want'"; }
	echo "  $name: exit $rc, $(head -1 "$tmp/$name.out")"
}
must_fail run_mlx5_0 "mlx5_0: no RDMA device found" \
	"$VS_BUILD/src/ctl/vstack" run --device mlx5_0 -- true
must_fail run_xdp_nobody "CAP_NET_RAW" \
	"${nobody[@]}" "$VS_BUILD/src/ctl/vstack" run --device xdp:to_b -- true
must_fail run_xdp_no_such_interface "no such interface" \
	"$VS_BUILD/src/ctl/vstack" run --device xdp:nosuch0 -- true
must_fail native_mlx5_0 "vs_init: mlx5_0: no RDMA device found" \
	env VSTACK_DEVICE=mlx5_0 "$VS_BUILD/examples/vs-echo" 7777
echo "sockapi.no_device: ok"
