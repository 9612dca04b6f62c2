# SPDX-License-Identifier: MIT
# run.sh TARGET SEEDS RUNS [LIBFUZZER OPTIONS...] - one fuzz.* test: the
# libFuzzer target TARGET runs its seed corpus SEEDS, then mutates for
# RUNS executions in all (what it finds new goes to a scratch corpus, not
# to SEEDS). Fails on any crash, sanitizer report or timeout; 77 (skip)
# if the target says it cannot run here.
set -eu
target=$1 seeds=$2 runs=$3
shift 3
work=$(mktemp -d /tmp/vsfuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
rc=0
# libFuzzer's own exit code for a crash is 77: here it is 1, and 77 is
# only the target's "cannot run here".
"$target" -runs="$runs" -timeout=10 -error_exitcode=1 -timeout_exitcode=1 \
	-print_final_stats=1 \
	-artifact_prefix="$work/" "$@" "$work" "$seeds" >"$work/log" 2>&1 || rc=$?
if [ $rc = 77 ]; then
	tail -3 "$work/log"
	exit 77
fi
grep -E "^stat::(number_of_executed_units|new_units_added)|cov: .*ft:" "$work/log" | tail -4
if [ $rc != 0 ]; then
	tail -60 "$work/log"
	for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
		[ -e "$f" ] && { echo "input ($f):"; od -A d -t x1 "$f" | head -40; }
	done
	echo "FAIL: $(basename "$target") exited $rc"
	exit 1
fi
