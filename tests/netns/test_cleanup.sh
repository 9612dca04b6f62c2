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
for i in $(seq 50); do [ -s /tmp/vst-pid.$$ ] && [ "$(left "$(cat /tmp/vst-pid.$$)")" = 1 ] && break; sleep 0.1; done
p=$(cat /tmp/vst-pid.$$)
[ "$(left "$p")" = 1 ] || { echo "FAIL: namespace never appeared" >&2; exit 1; }
sleep 0.3
kill -TERM "$bg"
wait "$bg" || true
[ "$(left "$p")" = 0 ] || { echo "FAIL: left namespaces after SIGTERM" >&2; exit 1; }
if pgrep -f "sleep 300" >/dev/null && [ -n "$(ip netns pids "vst${p}_x" 2>/dev/null)" ]; then
	echo "FAIL: a process outlived its namespace" >&2; exit 1
fi
rm -f /tmp/vst-pid.$$
echo "netns.cleanup: ok"
