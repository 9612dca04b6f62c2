#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/tsan/run.sh BUILD TEST... - runs the ctest tests TEST... of a
# ThreadSanitizer tree (BUILD, -DVSTACK_TSAN=ON) and fails on any report
# (docs/testing.md). The runtime cannot symbolize inside a preloaded
# process: it logs module+offset frames, which this script symbolizes
# with addr2line, and prints each report.
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
reports=0
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
		printf '%s\n' "$report"
		rc=1
		report=""
	done < <(sed -n '/^WARNING: ThreadSanitizer/,/^SUMMARY: ThreadSanitizer/p' "$f")
done
echo "ThreadSanitizer: $reports reports (above)"
exit $rc
