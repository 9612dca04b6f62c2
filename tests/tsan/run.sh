#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/tsan/run.sh BUILD TEST... - runs the ctest tests TEST... of a
# ThreadSanitizer tree (BUILD, -DVSTACK_TSAN=ON) and fails on any report
# but the two known not to be vstack's (docs/testing.md):
#   - the test's own close() of a socket another thread is blocked in
#     recv() on (sockapi.threads, blocked_reader: on purpose, as on the
#     kernel; TSan calls any close racing an fd's use a race);
#   - a read of lwIP's statistics by vs__engine_counters (the control
#     thread reads counters without the engine's lock, by design; lwIP
#     writes them with plain increments).
# The runtime cannot symbolize inside a preloaded process: it logs
# module+offset frames, which this script symbolizes with addr2line.
set -euo pipefail
build=$(cd "$1" && pwd)
shift
logs=$(mktemp -d /tmp/vstsan.XXXXXX)
trap 'rm -rf "$logs"' EXIT
re=$(printf '^%s$|' "$@")
rc=0
(cd "$build" && LIMIT_MS=5000 \
	TSAN_OPTIONS="log_path=$logs/log:external_symbolizer_path=:exitcode=0" \
	ctest --output-on-failure -R "${re%|}") || rc=$?
# sym MODULE OFFSET: the function there, or ?
sym() {
	local m=$build/$1
	[ -f "$m" ] || m=$build/tests/$1
	[ -f "$m" ] && addr2line -f -e "$m" "$2" 2>/dev/null | head -1 || echo "?"
}
reports=0 known=0
for f in "$logs"/log.*; do
	[ -e "$f" ] || continue
	report=""
	while IFS= read -r line; do
		if [[ $line =~ \(([A-Za-z0-9_.-]+)\+(0x[0-9a-f]+)\) ]]; then
			line+=" $(sym "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}")"
		fi
		report+="$line"$'\n'
		[[ $line == SUMMARY:* ]] || continue
		reports=$((reports + 1))
		if grep -qwE 'blocked_reader|vs__engine_counters' <<<"$report"; then
			known=$((known + 1))
		else
			printf '%s\n' "$report"
			rc=1
		fi
		report=""
	done < <(sed -n '/^WARNING: ThreadSanitizer/,/^SUMMARY: ThreadSanitizer/p' "$f")
done
echo "ThreadSanitizer: $reports reports, $known of them known (above: the others)"
exit $rc
