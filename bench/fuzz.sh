#!/usr/bin/env bash
# bench/fuzz.sh - each libFuzzer target (tests/fuzz/) for a long run, as
# root (fuzz_xdp loads the XDP program):
#   bench/fuzz.sh [RUNS [TARGET...]]   (default 100000000 executions of
#                                       each of ctl config emu xdp netif)
# Builds build-fuzz/ (clang, libFuzzer, ASan+UBSan), then runs each
# target on JOBS processes (default: the cores) for RUNS executions in
# all, from its seeds (tests/fuzz/seeds/NAME) and the corpus earlier runs
# left in build-fuzz/corpus/NAME, which grows. Prints a table: executions,
# edges covered (libFuzzer's cov), features (ft), corpus, crashes,
# seconds. A crash's input stays in build-fuzz/artifacts/. The results
# recorded in docs/testing.md come from this script.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/fuzz.sh: run as root" >&2; exit 1; }
runs=${1:-100000000}
shift || true
targets=${*:-ctl config emu xdp netif}
jobs=${JOBS:-$(nproc)}
scripts/setup
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DVSTACK_FUZZ=ON -DVSTACK_ASAN=ON -DVSTACK_UBSAN=ON >/dev/null
cmake --build build-fuzz --target fuzz -j "$(nproc)" >/dev/null
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p build-fuzz/artifacts
printf '%-8s %12s %6s %7s %7s %7s %8s\n' target executions cov ft corpus crashes seconds
for t in $targets; do
	corpus=build-fuzz/corpus/$t logs=build-fuzz/logs/$t
	mkdir -p "$corpus"
	rm -rf "$logs" && mkdir -p "$logs"
	start=$(date +%s)
	# JOBS processes, each its share of the runs, one shared corpus.
	for j in $(seq "$jobs"); do
		build-fuzz/tests/fuzz_"$t" -runs=$((runs / jobs)) -timeout=10 \
			-error_exitcode=1 -timeout_exitcode=1 \
			-print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/"$t"- \
			"$corpus" "tests/fuzz/seeds/$t" >"$logs/$j.log" 2>&1 &
	done
	crashed=0
	for j in $(seq "$jobs"); do wait -n || crashed=$((crashed + 1)); done
	execs=0 cov=0 ft=0
	for l in "$logs"/*.log; do
		e=$(sed -n 's/^stat::number_of_executed_units: *//p' "$l")
		execs=$((execs + ${e:-0}))
		read -r c f < <(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$l" | tail -1 |
			awk '{ print $2, $4 }')
		[ "${c:-0}" -gt "$cov" ] && cov=$c
		[ "${f:-0}" -gt "$ft" ] && ft=$f
	done
	printf '%-8s %12d %6d %7d %7d %7d %8d\n' "$t" "$execs" "$cov" "$ft" \
		"$(find "$corpus" -type f | wc -l)" "$crashed" $(($(date +%s) - start))
	[ $crashed = 0 ] || grep -h -A5 -E "ERROR|fuzz_$t:" "$logs"/*.log | head -40
done
