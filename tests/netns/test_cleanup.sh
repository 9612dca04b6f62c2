# netns.cleanup: a test that exits normally, fails, or is stopped by
# SIGTERM leaves no namespace (and so no veth) behind.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
netns_need_root

helper=$(dirname "$0")/../lib/netns.sh
left() { ip netns list | awk '{print $1}' | grep -c "^vst$1_" || true; }

# 1. normal exit, 2. failing test (set -e), 3. SIGTERM while a process
# runs inside the namespace.
bash -c ". '$helper'; netns_create x y; netns_link x y; echo \$\$ > /tmp/vst-pid.$$" 
p=$(cat /tmp/vst-pid.$$)
[ "$(left "$p")" = 0 ] || { echo "FAIL: left namespaces after exit" >&2; exit 1; }

bash -c "set -e; . '$helper'; netns_create x y; echo \$\$ > /tmp/vst-pid.$$; false; echo unreachable" && exit 1
p=$(cat /tmp/vst-pid.$$)
[ "$(left "$p")" = 0 ] || { echo "FAIL: left namespaces after failure" >&2; exit 1; }

bash -c ". '$helper'; netns_create x; netns_exec x sleep 300 & echo \$\$ > /tmp/vst-pid.$$; wait" &
bg=$!
appeared() { [ -s /tmp/vst-pid.$$ ] && [ "$(left "$(cat /tmp/vst-pid.$$)")" = 1 ]; }
wait_until 10 "the namespace" appeared || { echo "FAIL: namespace never appeared" >&2; exit 1; }
p=$(cat /tmp/vst-pid.$$)
# The process inside runs before the test is stopped: its pid, to check
# after teardown that it is gone (not a name: other tests run sleep too).
inside() { [ -n "$(ip netns pids "vst${p}_x" 2>/dev/null)" ]; }
wait_until 10 "a process inside the namespace" inside || { echo "FAIL: nothing ran inside" >&2; exit 1; }
inner=$(ip netns pids "vst${p}_x")
kill -TERM "$bg"
wait "$bg" || true
[ "$(left "$p")" = 0 ] || { echo "FAIL: left namespaces after SIGTERM" >&2; exit 1; }
for q in $inner; do
	if kill -0 "$q" 2>/dev/null; then
		echo "FAIL: process $q outlived its namespace" >&2; exit 1
	fi
done
rm -f /tmp/vst-pid.$$
echo "netns.cleanup: ok"
