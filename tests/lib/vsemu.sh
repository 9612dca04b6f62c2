# SPDX-License-Identifier: MIT
# vsemu.sh - emulated ConnectX ports for network tests. Source it after
# netns.sh.
#
#   vsemu_start NS DEV CABLE [ADDR...]
#       runs vsemu for DEV in namespace NS with interface CABLE as its
#       cable (addresses on CABLE move to the port's netdev, as on a host
#       where the NIC carries the IP), waits until it serves, and assigns
#       ADDR... to the netdev. Stopped by netns teardown with the rest.
#   vsemu stats DEV           the daemon's counters
#   wait_for_line FILE TEXT   waits (10 s) for a line in FILE
#   vstack_exec NS DEV CMD... runs an unmodified program in NS on vstack
#                             (LD_PRELOAD=libvstack.so) over port DEV
#   kernel_conns NS PORT      established kernel TCP connections in NS
#                             with PORT at either end
#   vs_snmp PID NAME          a counter of a running vstack process
#                             (vstackctl snmp, e.g. Tcp.PassiveOpens)
#   vs_carried LOG            what a vstack process that exited carried,
#                             from its exit line in LOG (VSTACK_LOG=info):
#                             "ACCEPTED CONNECTED BYTES_IN BYTES_OUT
#                             DATAGRAMS_IN DATAGRAMS_OUT"
#
#   vs_dev DEV                the device name to give vstack for DEV
#
# VSEMU_DIR: the sockets' directory, private to this test.
# VSEMU_ARGS: more vsemu options (e.g. --impair-in SPEC).
# VS_BACKEND=xdp: the same tests on the xdp backend instead (xdp.stack,
# xdp.apps): no emulator; DEV becomes xdp:CABLE, the addresses go on
# CABLE, and veths get NETNS_QUEUES (default 2) queues.
# The daemons run inside the namespaces, so netns teardown ends them.

VSEMU_TMP=$(mktemp -d /tmp/vsemu-test.XXXXXX)
VSEMU_DIR=$VSEMU_TMP/run
export VSEMU_DIR
VSEMU_BIN=${VS_BUILD:?VS_BUILD must name the build directory}/emu/vsemu
VSEMU_LIB=$VS_BUILD/emu

NETNS_CLEANUP+=("rm -rf '$VSEMU_TMP'")

wait_for_line() {
	local file=$1 text=$2 i
	for i in $(seq 100); do
		grep -q "$text" "$file" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "timed out waiting for '$text' in $file:" >&2
	cat "$file" >&2
	return 1
}

VS_BACKEND=${VS_BACKEND:-verbs}
declare -gA VS_DEVMAP
if [ "$VS_BACKEND" = xdp ]; then
	. "$(dirname "${BASH_SOURCE[0]}")/xdp.sh"
	NETNS_QUEUES=${NETNS_QUEUES:-2}
fi

vs_dev() { echo "${VS_DEVMAP[$1]:-$1}"; }

vsemu_start() {
	local ns=$1 dev=$2 cable=$3 log
	shift 3
	if [ "$VS_BACKEND" = xdp ]; then
		VS_DEVMAP[$dev]=xdp:$cable
		xdp_cable "$ns" "$cable" "$@"
		return
	fi
	log=$VSEMU_TMP/$dev.log
	netns_exec "$ns" ip addr flush dev "$cable"
	netns_exec "$ns" "$VSEMU_BIN" -d "$dev" -w "$cable" --dir "$VSEMU_DIR" \
		${VSEMU_ARGS:-} >"$log" 2>&1 &
	wait_for_line "$log" "ready" || return 1
	local a
	for a in "$@"; do
		case $a in
		*:*) netns_exec "$ns" ip addr add "$a" dev "vs$dev" nodad ;;
		*) netns_exec "$ns" ip addr add "$a" dev "vs$dev" ;;
		esac
	done
}

vsemu() {
	[ "$VS_BACKEND" = xdp ] && return 0 # no emulator to ask
	"$VSEMU_BIN" "$1" --dir "$VSEMU_DIR" "${@:2}"
}

vstack_exec() {
	local ns=$1 dev=$2
	shift 2
	netns_exec "$ns" env VSEMU_DIR="$VSEMU_DIR" \
		LD_PRELOAD="$VS_SAN_PRELOAD$VSEMU_LIB/libvsemu.so $VS_BUILD/libvstack.so" \
		VSTACK_DEVICE="$(vs_dev "$dev")" VSTACK_LOG="${VSTACK_LOG:-warn}" "$@"
}

kernel_conns() {
	netns_exec "$1" ss -Htn state established "( sport = :$2 or dport = :$2 )" | wc -l
}

vs_snmp() {
	"$VS_BUILD/src/ctl/vstackctl" snmp -p "$1" | awk -v k="$2" '$1 == k { print $2 }'
}

# cpu_pct PID SECONDS: the CPU all of PID's threads used over SECONDS,
# in percent of a core (schedstat's ns, not 10 ms ticks).
cpu_pct() {
	local a b
	a=$(cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f", s }')
	sleep "$2"
	b=$(cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f", s }')
	awk -v a="$a" -v b="$b" -v t="$2" 'BEGIN { printf "%.2f", 100 * (b - a) / 1e9 / t }'
}

vs_carried() {
	sed -n 's/.*exit: vstack carried \([0-9]*\) TCP connections accepted and \([0-9]*\) connected, \([0-9]*\) bytes in and \([0-9]*\) out; \([0-9]*\) UDP datagrams in and \([0-9]*\) out$/\1 \2 \3 \4 \5 \6/p' "$1" | tail -1
}
