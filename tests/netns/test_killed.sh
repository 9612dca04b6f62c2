# netns.killed: a test shell killed with SIGKILL cannot clean up; the next
# test's netns_create must sweep what it left, and only that.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
netns_need_root

helper=$(dirname "$0")/../lib/netns.sh
bash -c ". '$helper'; netns_create k1 k2; netns_link k1 k2; netns_exec k1 sleep 300 & exec sleep 300" &
victim=$!
for i in $(seq 50); do
	[ "$(ip netns list | grep -c "^vst${victim}_")" = 2 ] && break
	sleep 0.1
done
[ "$(ip netns list | grep -c "^vst${victim}_")" = 2 ] || { echo "FAIL: setup" >&2; exit 1; }
kill -9 "$victim"
wait "$victim" 2>/dev/null || true
[ "$(ip netns list | grep -c "^vst${victim}_")" = 2 ] || { echo "FAIL: expected leftovers to sweep" >&2; exit 1; }

netns_create mine
[ "$(ip netns list | grep -c "^vst${victim}_")" = 0 ] || { echo "FAIL: sweep left the dead test's namespaces" >&2; exit 1; }
[ "$(ip netns list | grep -c "^$(netns_name mine)")" = 1 ] || { echo "FAIL: sweep removed a live namespace" >&2; exit 1; }
echo "netns.killed: ok"
