#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# deb.build (scripts/test's fifth stage): the Debian packages (debian/),
# built, checked, installed, used and purged as an administrator would.
#   - dpkg-buildpackage -us -uc -b builds them from a copy of this tree;
#     lintian reports no error or warning;
#   - apt-get install ./*.deb installs them: group vstack, /run/vstack
#     (3770 root:vstack, tmpfiles.d), /etc/vstack/vstack.conf a conffile
#     that parses (vstackctl config);
#   - examples/echo.c, compiled outside the tree with pkg-config's flags,
#     links the installed libvstack.so.0 and echoes a kernel peer's line
#     through the emulated ConnectX;
#   - systemd-analyze verify accepts vsemu@.service; vsemu runs as the
#     unit would (its ExecStart line, here in a namespace: no systemd in
#     a container), and `vstack run --emu --user
#     redis` runs redis-server on vstack as user redis (a member of
#     vstack); a kernel client's SET/GET work, and vstackctl, run by
#     root and by another member of vstack, shows redis-server's
#     accepted connections;
#   - man vstackctl shows the page; bash completes vstackctl's commands
#     and the running process's pid;
#   - apt-get purge leaves none of the packages' files, no /etc/vstack,
#     no /run/vstack, no /run/vsemu.
# Needs root (it installs packages); exits 77 (skipped) without it.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: deb.build installs packages: needs root" >&2
	exit 77
fi
. "$src/tests/lib/netns.sh"
fail() { echo "FAIL: deb.build: $*" >&2; exit 1; }
pkgs=(libvstack0 libvstack-dev vstack-tools vstack-emu vstack-examples)
tmp=$(mktemp -d /tmp/vstack-deb.XXXXXX)
chmod 755 "$tmp"
had_group=false
getent group vstack >/dev/null && had_group=true
cleanup() {
	apt-get purge -y -q "${pkgs[@]}" >/dev/null 2>&1 || true
	gpasswd -d redis vstack >/dev/null 2>&1 || true
	$had_group || groupdel vstack 2>/dev/null || true
	rm -rf "$tmp"
}
NETNS_CLEANUP+=(cleanup)
trap netns_teardown EXIT
trap netns_on_signal INT TERM HUP
for p in "${pkgs[@]}"; do
	! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		fail "$p is installed already: purge it first"
done

echo "== dpkg-buildpackage"
mkdir "$tmp/src" "$tmp/src/vstack"
(cd "$src" && tar --exclude='./build*' --exclude=./.git --exclude='./obj-*' -cf - .) |
	tar -xf - -C "$tmp/src/vstack"
(cd "$tmp/src/vstack" && DEB_BUILD_OPTIONS="parallel=$(nproc)" \
	dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1 ||
	{ tail -40 "$tmp/build.log"; fail "dpkg-buildpackage"; }
ls "$tmp/src"/*.deb
for p in "${pkgs[@]}"; do
	compgen -G "$tmp/src/${p}_*.deb" >/dev/null || fail "no package $p"
done
lintian --fail-on error,warning "$tmp/src"/*.changes || fail "lintian reports errors or warnings"

echo "== apt-get install ./*.deb"
debs=()
for p in "${pkgs[@]}"; do debs+=("$tmp/src/${p}_"*.deb); done
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${debs[@]}" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; fail "apt-get install"; }
getent group vstack >/dev/null || fail "no group vstack"
[ "$(stat -c %a:%U:%G /run/vstack)" = 3770:root:vstack ] ||
	fail "/run/vstack is $(stat -c %a:%U:%G /run/vstack)"
dpkg-query -W -f='${Conffiles}\n' vstack-tools | grep -q ' /etc/vstack/vstack.conf ' ||
	fail "/etc/vstack/vstack.conf is not a conffile"
vstackctl config >"$tmp/config" || fail "vstackctl config: $(cat "$tmp/config")"
man -P cat vstackctl 2>/dev/null | grep -q 'vstackctl - ' || fail "man vstackctl"
man -P cat vs-http 2>/dev/null | grep -q 'example programs of' || fail "man vs-http"

echo "== examples/echo.c outside the tree, with pkg-config"
cp "$src/examples/echo.c" "$src/examples/common.h" "$tmp"
# shellcheck disable=SC2046
cc -o "$tmp/echo" "$tmp/echo.c" $(pkg-config --cflags --libs vstack) -lpthread ||
	fail "examples/echo.c does not build with pkg-config --cflags --libs vstack"
lib=$(ldd "$tmp/echo" | awk '$1 == "libvstack.so.0" { print $3 }')
[ "$(readlink -f "$lib")" = /usr/lib/x86_64-linux-gnu/libvstack.so.0.1.0 ] ||
	fail "the program does not use the installed library: $(ldd "$tmp/echo")"

echo "== vsemu as vsemu@.service runs it, redis-server by vstack run --user redis"
netns_create a b
netns_link a b
unit=/lib/systemd/system/vsemu@.service
[ -f "$unit" ] || fail "no $unit"
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify --man=no vsemu@to_b.service || fail "systemd-analyze verify vsemu@.service"
fi
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
exec_start=${exec_start//%I/to_b}
exec_start=${exec_start//\$VSEMU_OPTS/}
netns_exec a ip addr flush dev to_b
# shellcheck disable=SC2086
netns_exec a $exec_start >"$tmp/vsemu.log" 2>&1 &
wait_until 10 "vsemu to serve" grep -q ready "$tmp/vsemu.log" ||
	fail "vsemu: $(cat "$tmp/vsemu.log")"
[ "$(stat -c %a:%G /run/vsemu/mlx5_0.sock)" = 660:vstack ] ||
	fail "the emulator's socket is $(stat -c %a:%G /run/vsemu/mlx5_0.sock)"
netns_exec a ip addr add 10.77.1.1/24 dev vsmlx5_0

# The packaged example on vstack, from outside the tree: a line echoed.
netns_exec a env VSTACK_DEVICE=mlx5_0 VSTACK_CORES=1 \
	LD_PRELOAD=/usr/lib/x86_64-linux-gnu/vstack/libvsemu.so \
	"$tmp/echo" 7000 >"$tmp/echo.log" 2>&1 &
echo_line() {
	netns_exec b timeout 5 bash -c 'exec 3<>/dev/tcp/10.77.1.1/7000 &&
		echo vstack-deb >&3 && read -r l <&3 && [ "$l" = vstack-deb ]'
}
wait_until 10 "the example to echo" echo_line || fail "echo: $(cat "$tmp/echo.log")"
netns_kill a TERM echo

usermod -aG vstack redis
netns_exec a vstack run --emu --user redis --device mlx5_0 --cores 1 -- \
	redis-server --port 6390 --save "" --appendonly no --protected-mode no \
	--dir /tmp --daemonize no --logfile "" >"$tmp/redis.log" 2>&1 &
wait_until 10 "redis-server to start" grep -q "Ready to accept" "$tmp/redis.log" ||
	fail "redis-server: $(cat "$tmp/redis.log")"
[ "$(netns_exec b redis-cli -h 10.77.1.1 -p 6390 set k deb)" = OK ] || fail "SET"
[ "$(netns_exec b redis-cli -h 10.77.1.1 -p 6390 get k)" = deb ] || fail "GET"
pid=$(netns_pidof a redis-server)
[ "$(stat -c %U "/proc/$pid")" = redis ] || fail "redis-server runs as $(stat -c %U "/proc/$pid")"
[ -S "/run/vstack/$pid.sock" ] || fail "no control socket /run/vstack/$pid.sock"
opens=$(vstackctl snmp -p "$pid" | awk '$1 == "Tcp.PassiveOpens" { print $2 }')
[ "${opens:-0}" -ge 2 ] || fail "vstack accepted ${opens:-0} connections, not 2"
gid=$(getent group vstack | cut -d: -f3)
setpriv --reuid=65534 --regid=65534 --groups="$gid" vstackctl list | grep -q redis-server ||
	fail "another member of vstack does not see redis-server"
setpriv --reuid=65534 --regid=65534 --groups="$gid" vstackctl snmp -p "$pid" >/dev/null ||
	fail "another member of vstack may not use vstackctl on redis-server"

echo "== bash completion"
complete_words() { # WORD...: what bash completes for the last one
	bash -c '. /usr/share/bash-completion/bash_completion
		. /usr/share/bash-completion/completions/vstackctl
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_vstackctl; echo "${COMPREPLY[*]}"' bash "$@"
}
[ "$(complete_words vstackctl st)" = stats ] || fail "vstackctl st<TAB>: $(complete_words vstackctl st)"
complete_words vstackctl stats -p "" | grep -qw "$pid" ||
	fail "vstackctl stats -p <TAB> does not offer $pid"

netns_kill a TERM redis-server
netns_wait_gone a redis-server 10
netns_kill a TERM vsemu
netns_wait_gone a vsemu 10

echo "== apt-get purge"
for p in "${pkgs[@]}"; do dpkg -L "$p"; done | sort -u >"$tmp/files"
apt-get purge -y -q "${pkgs[@]}" >"$tmp/purge.log" 2>&1 ||
	{ cat "$tmp/purge.log"; fail "apt-get purge"; }
left=$(while read -r f; do
	if { [ -e "$f" ] || [ -L "$f" ]; } && [ ! -d "$f" ]; then echo "$f"; fi
done <"$tmp/files")
[ -z "$left" ] || fail "left after purge: $left"
for d in /etc/vstack /run/vstack /run/vsemu; do
	[ ! -e "$d" ] || fail "$d left after purge"
done
echo "deb.build: ok"
