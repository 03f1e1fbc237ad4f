#!/bin/sh
# Builds the libFuzzer targets in their own clang build tree and runs each for a while.
#
#   tests/fuzz/run-fuzz.sh SOURCE_DIR FUZZ_BUILD_DIR [SECONDS_PER_TARGET [TARGET...]]
#
# ctest runs it (test fuzz_smoke) with 10 seconds per target; the long run the fuzzing issue
# asks for is 600 seconds per target (see README.md). The targets are the list
# `trapeze_fuzzers` in tests/fuzz/CMakeLists.txt (written to FUZZ_BUILD_DIR/tests/fuzz/fuzzers.txt),
# run one after another, or only the TARGETs named. Each starts from its committed seeds
# (tests/fuzz/corpus/<target>) and its working corpus FUZZ_BUILD_DIR/corpus/<target>, where new
# inputs go, so every run starts where the last one stopped; tests/fuzz/<target>.dict is used
# if present. A crash, sanitizer report, timeout (10 s per input) or out-of-memory (2 GiB, or
# one allocation above that) fails the run, leaving the input as FUZZ_BUILD_DIR/crash-* (or
# timeout-*, oom-*) to replay with `FUZZ_BUILD_DIR/tests/fuzz/<target> FILE`.
set -eu

src=$1
build=$2
seconds=${3:-10}
[ $# -ge 3 ] && shift 3 || shift $#

generator=""
if command -v ninja >/dev/null 2>&1; then generator="-G Ninja"; fi

# Everything in this tree gets ASan + UBSan (TRAPEZE_SANITIZE) and coverage instrumentation
# (fuzzer-no-link), so the fuzzer sees branches inside the libraries, not just the harness.
# Warnings are enforced by the ordinary (gcc) build; clang's extra ones must not break fuzzing.
# shellcheck disable=SC2086
cmake -S "$src" -B "$build" $generator \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DTRAPEZE_FUZZ=ON -DTRAPEZE_SANITIZE=ON -DTRAPEZE_WERROR=OFF \
    "-DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link -fno-sanitize-recover=all" >"$build.configure.log" 2>&1 ||
    { cat "$build.configure.log"; exit 1; }
cmake --build "$build" --target fuzzers -j2

targets=${*:-$(cat "$build/tests/fuzz/fuzzers.txt")}
status=0
for target in $targets; do
    corpus="$build/corpus/$target"
    seeds="$src/tests/fuzz/corpus/$target"
    dict="$src/tests/fuzz/$target.dict"
    log="$build/$target.log"
    mkdir -p "$corpus"
    [ -d "$seeds" ] || { echo "$target has no seed corpus in $seeds"; status=1; continue; }
    set -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -use_value_profile=1 \
        -print_final_stats=1 -artifact_prefix="$build/"
    [ -f "$dict" ] && set -- "$@" -dict="$dict"
    echo "== $target: ${seconds}s"
    if "$build/tests/fuzz/$target" "$@" "$corpus" "$seeds" >"$log" 2>&1; then
        grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+.*DONE)' "$log" || tail -n 3 "$log"
    else
        echo "$target FAILED; last lines of $log:"
        tail -n 60 "$log"
        status=1
    fi
done
exit $status
