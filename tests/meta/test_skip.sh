# meta.skip: a test that skips is reported by ctest as skipped, neither
# passed nor failed. The probes are real tests run without privilege,
# registered exactly as the others (tests/CMakeLists.txt) but disabled
# in the main run: meta.skip_probe.script (netns.ping: a network test,
# through netns_need_root) and meta.skip_probe.unit (emu.device_list: a
# Check suite that needs CAP_NET_RAW, through vstest.h). Their
# registrations are copied from the build's CTestTestfile.cmake, enabled,
# and run by a ctest of their own in a scratch directory.
set -eu
fail() { echo "FAIL: $*" >&2; exit 1; }
scratch=$(mktemp -d /tmp/vs-meta-skip.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
chmod 755 "$scratch"
grep -E '^(add_test|set_tests_properties)\(meta\.skip_probe\.' "$VS_BUILD/tests/CTestTestfile.cmake" |
	sed 's/ DISABLED "[^"]*"//' >"$scratch/CTestTestfile.cmake"
[ "$(grep -c '^add_test' "$scratch/CTestTestfile.cmake")" = 2 ] ||
	fail "the probes are not registered: $(cat "$scratch/CTestTestfile.cmake")"
(cd "$scratch" && ctest --output-on-failure) >"$scratch/out" 2>&1 || true
cat "$scratch/out"
for p in script unit; do
	grep -Eq "Test +#[0-9]+: meta\.skip_probe\.$p \.+ *\*\*\*Skipped" "$scratch/out" ||
		fail "meta.skip_probe.$p was not reported as skipped"
done
grep -q '100% tests passed, 0 tests failed out of 2' "$scratch/out" ||
	fail "the summary counts a skip as a failure"
echo "meta.skip: ok"
