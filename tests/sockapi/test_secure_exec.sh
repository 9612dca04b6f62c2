# sockapi.secure_exec: a setcap program linked with libvstack, started by
# a user without privileges (secure execution, AT_SECURE), takes no
# configuration from that user: VSTACK_CONFIG naming a file the program
# may read but the user may not is not read (its line never appears in
# an error), VSTACK_LOG is ignored, and vstack says why once.
set -eu
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/vsemu.sh" # VSEMU_TMP
fail() { echo "FAIL: $*" >&2; cat "$VSEMU_TMP/out" >&2 2>/dev/null; exit 1; }
netns_need_root
for p in setcap setpriv; do
	command -v $p >/dev/null || fail "$p missing: run scripts/setup"
done
tmp=$VSEMU_TMP
chmod 755 "$tmp"
cp "$VS_BUILD/examples/vs-echo" "$tmp/vs-echo"
chmod 755 "$tmp/vs-echo"
# Privileges the user lacks: raw sockets, and reading any file.
setcap cap_net_raw,cap_dac_read_search+ep "$tmp/vs-echo" ||
	fail "setcap (the filesystem of $tmp needs extended attributes)"
printf 'TOPSECRET-7f3a = 1\n' >"$tmp/secret"
chmod 600 "$tmp/secret"
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	env VSTACK_CONFIG="$tmp/secret" VSTACK_LOG=debug VSTACK_DEVICE=mlx5_9 \
	timeout 20 "$tmp/vs-echo" 7000 >"$tmp/out" 2>&1 || true
cat "$tmp/out"
grep -q "secure execution (a setuid or setcap program): VSTACK_\* variables are ignored" "$tmp/out" ||
	fail "no word of secure execution (was it one? AT_SECURE)"
[ "$(grep -c "secure execution" "$tmp/out")" = 1 ] || fail "said more than once"
! grep -q TOPSECRET "$tmp/out" || fail "the file named by VSTACK_CONFIG was read and echoed"
! grep -q "mlx5_9" "$tmp/out" || fail "VSTACK_DEVICE was taken"
! grep -q "debug:" "$tmp/out" || fail "VSTACK_LOG was taken"
# The same program without the capabilities is no secure execution: the
# user's configuration applies (and the file is unreadable to them).
cp "$VS_BUILD/examples/vs-echo" "$tmp/vs-echo-plain"
chmod 755 "$tmp/vs-echo-plain"
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	env VSTACK_CONFIG="$tmp/secret" timeout 20 "$tmp/vs-echo-plain" 7000 \
	>"$tmp/out.plain" 2>&1 || true
cat "$tmp/out.plain"
grep -q "$tmp/secret" "$tmp/out.plain" || fail "VSTACK_CONFIG ignored outside secure execution"
echo "sockapi.secure_exec: ok"
