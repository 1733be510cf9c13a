#!/usr/bin/env bash
# Runs every libFuzzer target of Fuzzing/ for SECONDS each, FUZZ_JOBS at a time (default: one
# per core; each target is single-threaded), and prints per target: executions, exec/s,
# coverage (cov/ft), and crashes. Exits 1 if any target
# found a crash, a timeout (a hang: -timeout), or ran out of memory; the input is kept in
# .build-fuzz/artifacts/TARGET/. Usage: Fuzzing/run-fuzzers.sh SECONDS [TARGET...]
# The fuzz build is `make fuzz-build` (its own scratch path, .build-fuzz).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:?usage: run-fuzzers.sh SECONDS [TARGET...]}
shift
bin=.build-fuzz/debug
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for path in Fuzzing/Targets/*/; do targets+=("$(basename "$path")"); done
fi
# Swift's own crash backtracer would print and exit first; libFuzzer must see the trap
# (SIGILL from a Swift runtime check) to save the input.
export SWIFT_BACKTRACE=enable=no
# Swift's runtime keeps metadata caches for the process's lifetime: not leaks.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0
failed=0
summary=$(printf '%-20s %12s %8s %6s %6s %7s  %s' target executions exec/s cov ft seconds crashes)
jobs=${FUZZ_JOBS:-$(nproc)}

# One target for SECONDS; its log is the record the summary is read from.
run_target() {
    local target=$1
    local corpus=.build-fuzz/corpus/$target artifacts=.build-fuzz/artifacts/$target
    local log=.build-fuzz/logs/$target.log
    mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
    local start=$(date +%s)
    "$bin/fuzz-$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "Tests/FuzzInputs/$target" >"$log" 2>&1
    echo "$? $(( $(date +%s) - start ))" >"$log.status"
}

running=0
for target in "${targets[@]}"; do
    echo "== fuzz-$target: $seconds s (corpus .build-fuzz/corpus/$target, seeds Tests/FuzzInputs/$target)"
    run_target "$target" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait

for target in "${targets[@]}"; do
    log=.build-fuzz/logs/$target.log
    read -r status elapsed <"$log.status"
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    found=$(grep -cE '^artifact_prefix=|Test unit written to' "$log")
    if [ "$status" -ne 0 ] || [ "$found" -ne 0 ]; then
        failed=1
        echo "!! fuzz-$target: exit $status; the input and the report:"
        grep -E 'Test unit written to|ERROR: |Fatal error|SUMMARY' "$log" | head -5
        grep -A12 'ERROR: libFuzzer\|==ERROR' "$log" | head -30
        found="${found} (see $log)"
    fi
    summary+=$'\n'$(printf '%-20s %12s %8s %6s %6s %7s  %s' "$target" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$elapsed" "$found")
done
echo
echo "$summary"
exit $failed
