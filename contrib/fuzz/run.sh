#!/usr/bin/env bash
# Builds the libFuzzer targets of contrib/fuzz and runs each for a bounded time (docs/TESTING.md,
# "Fuzzing"). `make fuzz` runs it with FUZZ_SECONDS (default 60).
#
#   contrib/fuzz/run.sh [seconds] [target...]      (default: 60 seconds, every target)
#
# A target is a directory contrib/fuzz/<target>/ holding main.swift, named in
# contrib/fuzz/Package.swift. Each run starts from the
# committed seeds in contrib/fuzz/corpus/<target>/ (only read) and the inputs earlier runs found
# in contrib/fuzz/work/<target>/corpus/ (gitignored), where new inputs are written; an input that
# crashes is written to contrib/fuzz/work/<target>/artifacts/ and named at the end, and the exit
# status is then 1. libFuzzer's output is in contrib/fuzz/work/<target>/fuzz.log.
# Extra libFuzzer flags can be given in $FUZZ_FLAGS (for example "-max_len=65536"); $SWIFT
# names the swift driver (default: swift).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
seconds=${1:-60}
shift || true
case $seconds in ''|*[!0-9]*) echo "run.sh: seconds must be a whole number, not '$seconds'" >&2; exit 2 ;; esac

if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for main in contrib/fuzz/*/main.swift; do targets+=("$(basename "$(dirname "$main")")"); done
fi

# One build for every target: coverage instrumentation and AddressSanitizer in the hg-bft
# modules too. gold's warnings about the sanitizer's local symbols are noise.
scratch=.build-fuzz
build=("${SWIFT:-swift}" build --package-path contrib/fuzz --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address)
echo "+ ${build[*]}"
"${build[@]}" 2>&1 | grep -v "warning: Cannot export local symbol" || true
[ "${PIPESTATUS[0]}" = 0 ] || { echo "run.sh: the build failed" >&2; exit 1; }

failed=()
summary=()
for target in "${targets[@]}"; do
    binary=$scratch/debug/$target
    [ -x "$binary" ] || {
        echo "run.sh: no fuzz target '$target' (it needs contrib/fuzz/$target/main.swift and its name in contrib/fuzz/Package.swift)" >&2
        exit 2
    }
    work=contrib/fuzz/work/$target
    mkdir -p "$work/corpus" "$work/artifacts" "contrib/fuzz/corpus/$target"
    # -timeout: an input taking 10 s is a finding too. The first corpus directory receives new inputs.
    command=("$binary" -max_total_time="$seconds" -timeout=10 -print_final_stats=1
             -artifact_prefix="$work/artifacts/" ${FUZZ_FLAGS:-} "$work/corpus" "contrib/fuzz/corpus/$target")
    echo "+ ${command[*]}"
    start=$(date +%s)
    status=0
    # CPU time of the fuzzer (all its processes), from bash's `time`.
    cpu=$( { TIMEFORMAT='%U %S'; time "${command[@]}" >"$work/fuzz.log" 2>&1; } 2>&1 ) || status=$?
    [ "$status" = 0 ] || cpu=$(tail -n 1 <<<"$cpu")
    cpu=$(awk '{ printf "%.0f", $1 + $2 }' <<<"$cpu")
    wall=$(( $(date +%s) - start ))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/fuzz.log" | tail -n 1)
    corpus=$(find "$work/corpus" -type f | wc -l)
    seeds=$(find "contrib/fuzz/corpus/$target" -type f | wc -l)
    line="$target: ${cpu}s CPU (${wall}s wall), ${runs:-?} runs, ${rate:-?} exec/s, corpus $corpus found + $seeds seeds"
    if [ "$status" != 0 ]; then
        reason=$(grep -m1 -E '^==[0-9]+== ?ERROR|Fatal error|deadly signal' "$work/fuzz.log" || true)
        artifact=$(sed -n 's/.*Test unit written to //p' "$work/fuzz.log" | tail -n 1)
        line="$line, FAILED (exit $status): ${reason:-see $work/fuzz.log}; input: ${artifact:-none written}"
        failed+=("$target")
    fi
    echo "$line"
    summary+=("$line")
done

echo
echo "fuzzing summary ($seconds s per target):"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "crashes in: ${failed[*]}; inputs in contrib/fuzz/work/<target>/artifacts/, logs in contrib/fuzz/work/<target>/fuzz.log" >&2
    exit 1
fi
