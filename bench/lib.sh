# SPDX-License-Identifier: MIT
# bench/lib.sh - what every benchmark script does first. Source it from
# the script's directory with the extra Debian packages it needs:
#   . "$(dirname "$0")/lib.sh" valgrind gawk
# Checks root, installs vstack's packages (scripts/setup) and the extra
# ones, builds build/, and sources the namespace and emulator helpers
# (tests/lib/), with VS_BUILD set. The caller's cwd becomes the tree's.
bench_name=$(basename "$0")
cd "$(dirname "$0")/.."
export VS_BUILD=$PWD/build
[ "$(id -u)" = 0 ] || { echo "bench/$bench_name: run as root" >&2; exit 1; }
scripts/setup
if [ $# -gt 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
fi
scripts/build build >/dev/null
. tests/lib/netns.sh
. tests/lib/vsemu.sh
