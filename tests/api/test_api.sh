# api.*: the native API against a kernel peer through the emulated
# ConnectX. `api.calls`: tests/api/api_test.c's cases over IPv4 and IPv6
# (callback order, zero-copy buffers, timers, errors, UDP, vs_abort
# inside callbacks).
# `api.raw_hook_drop`: a raw hook that drops one source address stops
# that peer only, and counts what it dropped.
# `api.doc_program`: the program in docs/api.md, compiled as a user
# would (vstack installed with cmake --install into a scratch prefix,
# flags from the installed vstack.pc), echoes a line from a kernel client.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh"
what=$1
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP"/out* >&2 2>/dev/null; exit 1; }

netns_create a b
netns_link a b
vsemu_start a mlx5_0 to_b 10.77.1.1/24 fd77:1::1/64
# The program in namespace a, on the emulated port, for at most $SECS
# seconds (0: no limit). timeout(1) runs outside the preload: in a TSan
# tree only our own programs carry the runtime the emulator's library
# needs.
native() {
	netns_exec a timeout "${SECS:-0}" env VSEMU_DIR="$VSEMU_DIR" \
		LD_PRELOAD="$VS_SAN_PRELOAD$VSEMU_LIB/libvsemu.so" \
		VSTACK_DEVICE=mlx5_0 VSTACK_LOG=warn "$@"
}
echo_via() { # SOURCE: one line echoed by the server on 9000 from SOURCE?
	netns_exec b ip route replace 10.77.1.0/24 dev to_a src "$1"
	netns_exec b timeout 3 bash -c 'exec 3<>/dev/tcp/10.77.1.1/9000 &&
		echo hello >&3 && read -t 2 l <&3 && [ "$l" = hello ]'
}

case $what in
calls)
	netns_exec b "$VS_BUILD/tests/sockapi_peer" 8000 >"$VSEMU_TMP/peer" 2>&1 &
	wait_for_line "$VSEMU_TMP/peer" listening
	for peer in 10.77.1.2 fd77:1::2; do
		SECS=60 native "$VS_BUILD/tests/api_test" client "$peer" \
			>"$VSEMU_TMP/out.$peer" 2>&1 || fail "api_test against $peer"
		cat "$VSEMU_TMP/out.$peer"
	done
	grep -q 'released twice' "$VSEMU_TMP/out.10.77.1.2" ||
		fail "a double release was not reported"
	;;
raw_hook_drop)
	netns_exec b ip addr add 10.77.1.3/24 dev to_a
	native "$VS_BUILD/tests/api_test" hook 10.77.1.3 9000 >"$VSEMU_TMP/out" 2>&1 &
	wait_for_line "$VSEMU_TMP/out" ready
	echo_via 10.77.1.2 || fail "the allowed peer got no echo"
	echo_via 10.77.1.3 && fail "the dropped peer got an echo"
	echo_via 10.77.1.2 || fail "the allowed peer got no echo afterwards"
	netns_kill a TERM api_test
	wait_for_line "$VSEMU_TMP/out" dropped
	read -r _ dropped _ passed < <(grep dropped "$VSEMU_TMP/out")
	[ "$dropped" -ge 1 ] || fail "no drop counted"
	[ "$passed" -ge 6 ] || fail "only $passed frames passed"
	cat "$VSEMU_TMP/out"
	;;
doc_program)
	awk '/^```c$/ { on = 1; next } /^```$/ { if (on) exit } on' \
		"$VS_SRC/docs/api.md" >"$VSEMU_TMP/prog.c"
	[ -s "$VSEMU_TMP/prog.c" ] || fail "no C program in docs/api.md"
	# As a user builds it: against an installed vstack, found by
	# pkg-config through the installed vstack.pc.
	prefix=$VSEMU_TMP/prefix
	cmake --install "$VS_BUILD" --prefix "$prefix" >/dev/null ||
		fail "cmake --install"
	pc=$(find "$prefix" -name vstack.pc)
	[ -n "$pc" ] || fail "no vstack.pc installed"
	flags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --define-prefix \
		--cflags --libs vstack) || fail "pkg-config vstack"
	libdir=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --define-prefix \
		--variable=libdir vstack)
	[ -e "$libdir/libvstack.so" ] || fail "vstack.pc's libdir $libdir has no libvstack.so"
	# A ThreadSanitizer libvstack (tests/tsan/run.sh) needs programs
	# built with the runtime, as any TSan library does.
	cc=cc
	if nm -D --undefined-only "$libdir/libvstack.so" | grep -qw __tsan_init; then
		cc="clang -fsanitize=thread"
	fi
	# shellcheck disable=SC2086 # pkg-config's flags are words
	$cc -O2 -Wall -Werror "$VSEMU_TMP/prog.c" $flags -Wl,-rpath,"$libdir" \
		-o "$VSEMU_TMP/prog" || fail "the program in docs/api.md does not compile with $flags"
	ldd "$VSEMU_TMP/prog" | grep -q "$libdir/libvstack.so" ||
		fail "the program is not linked to the installed libvstack: $(ldd "$VSEMU_TMP/prog")"
	native "$VSEMU_TMP/prog" >"$VSEMU_TMP/out" 2>&1 &
	wait_for_line "$VSEMU_TMP/out" ready
	got=$(netns_exec b timeout 5 bash -c 'exec 3<>/dev/tcp/10.77.1.1/7000
		echo "hello, vstack" >&3; read -t 3 l <&3; echo "$l"')
	[ "$got" = "hello, vstack" ] || fail "echo: '$got'"
	;;
esac
echo "api.$what: ok"
