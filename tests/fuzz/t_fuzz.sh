#!/usr/bin/env bash
# t_fuzz.sh -- every parser of outside input survives fuzzing: `make fuzz`
# builds the libFuzzer targets (tests/fuzz/fuzz.mk: clang, ASan, UBSan),
# each replays its crash regressions (tests/fuzz/regressions/NAME, inputs
# that once crashed or leaked) and then runs FUZZ_SECONDS (default 20)
# seconds on a copy of its seed corpus (tests/fuzz/corpus/NAME).  Any
# crash, leak, undefined behaviour, timeout (10 s for one input) or out of
# memory fails the target; the input is kept in
# $BUILDDIR/tests/fuzz/crashes/ to replay (tests/fuzz/fuzz_NAME FILE).
# FUZZ_TARGETS (default: all of fuzz.mk's) picks targets to run; FUZZ_JOBS
# (default: the CPUs, at most 2) of them run at once.
# Without clang/libFuzzer the test SKIPs, except under CI=true, where it
# fails: a fuzz target that cannot build is never a pass.
# test-timeout: 900
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILDDIR=${BUILDDIR:-$top}
seconds=${FUZZ_SECONDS:-20}
# FUZZ_TARGETS="a b" runs only those (while working on one parser).
read -r -a targets <<< "${FUZZ_TARGETS:-$(sed -n 's/^FUZZ_TARGETS = //p' "$top/tests/fuzz/fuzz.mk")}"
# A smaller quarantine than ASan's 256 MB default: still far more than one
# input frees, and GMime's targets run twice as fast.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=32}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1${2:+: $2}"; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -z "$(sed -n 's/^FUZZ_CC = //p' "$BUILDDIR/Makefile" 2>/dev/null)" ]; then
    if [ "${CI:-}" = true ]; then
        fail "the fuzz targets build" "configure found no clang that links libFuzzer (scripts/install-deps.sh)"
        finish
    fi
    echo "SKIP: no clang with libFuzzer (scripts/install-deps.sh installs clang and libfuzzer-14-dev)"
    exit 77
fi
if make -C "$BUILDDIR" --no-print-directory fuzz > "$tmp/build.log" 2>&1; then
    ok "the ${#targets[@]} fuzz targets build"
else
    fail "the fuzz targets build" "$(tail -n 20 "$tmp/build.log")"
    finish
fi

# report LOG: the first sanitizer or libFuzzer error line of LOG, if any.
report() {
    grep -m 1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: |==[0-9]+== ?ERROR' "$1"
}

mkdir -p "$BUILDDIR/tests/fuzz/crashes"
# fuzz_one NAME: replays NAME's regressions, then fuzzes it; writes "ok - "
# and "FAIL - " lines (and a failure's details) to $tmp/NAME.result.
fuzz_one() {
    local t=$1 bin regress opts extra n start rc took execs found
    bin=$BUILDDIR/tests/fuzz/fuzz_$t
    regress=$top/tests/fuzz/regressions/$t
    opts=(-timeout=10 -rss_limit_mb=2048 -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1)
    extra=()
    exec > "$tmp/$t.result"
    if [ -d "$regress" ] && [ -n "$(ls -A "$regress")" ]; then
        n=$(ls -A "$regress" | wc -l)
        if "$bin" "${opts[@]}" "$regress"/* > "$tmp/$t.replay.log" 2>&1 && [ -z "$(report "$tmp/$t.replay.log")" ]; then
            echo "ok - fuzz_$t replays its $n regression input(s)"
        else
            echo "FAIL - fuzz_$t replays its $n regression input(s): $(report "$tmp/$t.replay.log")"
        fi
        extra=("$regress")
    fi
    mkdir -p "$tmp/corpus-$t"
    cp "$top/tests/fuzz/corpus/$t"/* "$tmp/corpus-$t/"
    start=$(date +%s)
    timeout $((seconds + 120)) "$bin" "${opts[@]}" -max_total_time="$seconds" \
        -artifact_prefix="$BUILDDIR/tests/fuzz/crashes/$t-" "$tmp/corpus-$t" "${extra[@]}" > "$tmp/$t.log" 2>&1
    rc=$?
    took=$(($(date +%s) - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$t.log")
    found=$(report "$tmp/$t.log")
    if [ "$rc" -eq 0 ] && [ -z "$found" ] && [ -n "$execs" ]; then
        echo "ok - fuzz_$t: ${execs} executions in ${took} s, no report"
    else
        echo "FAIL - fuzz_$t (exit $rc, ${took} s): ${found:-no final stats} $(grep -m 1 'artifact_prefix\|Test unit written' "$tmp/$t.log")"
        sed -n '/ERROR\|runtime error/,+30p' "$tmp/$t.log" | head -n 40
    fi
}
# libFuzzer runs one input at a time: FUZZ_JOBS targets (default: one per
# CPU, at most 2) fuzz side by side, each for its full FUZZ_SECONDS.
jobs=${FUZZ_JOBS:-$(nproc)}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1
[ "$jobs" -le 2 ] || jobs=2
pids=()
for t in "${targets[@]}"; do
    fuzz_one "$t" &
    pids+=($!)
    if [ "${#pids[@]}" -ge "$jobs" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
[ "${#pids[@]}" -eq 0 ] || wait "${pids[@]}"
for t in "${targets[@]}"; do
    if [ ! -s "$tmp/$t.result" ]; then
        fail "fuzz_$t" "it wrote no result"
        continue
    fi
    while IFS= read -r line; do
        case $line in
            "ok - "*) ok "${line#ok - }" ;;
            "FAIL - "*) fail "${line#FAIL - }" ;;
            *) echo "$line" ;;
        esac
    done < "$tmp/$t.result"
done
finish
