#!/usr/bin/env bash
# run.sh SECONDS [TARGET...] -- a long fuzzing run: each target (default:
# all of tests/fuzz/fuzz.mk's FUZZ_TARGETS) for SECONDS seconds, at most
# FUZZ_JOBS (default: the number of cores, never more) at a time, and
# stopping early after FUZZ_RUNS executions when that is set.  Builds
# them first (make fuzz).  Each target's corpus grows in
# $BUILDDIR/tests/fuzz/work/NAME (seeded from tests/fuzz/corpus/NAME and
# the regressions, kept between runs); what crashes is written to
# $BUILDDIR/tests/fuzz/crashes/NAME-*.  Prints one line per target
# (executions, seconds, executions per second, result) and exits non-zero
# if any target found something.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILDDIR=${BUILDDIR:-$top}
seconds=${1:?usage: tests/fuzz/run.sh SECONDS [TARGET...]}
shift
if [ $# -gt 0 ]; then targets=("$@"); else
    read -r -a targets <<< "$(sed -n 's/^FUZZ_TARGETS = //p' "$top/tests/fuzz/fuzz.mk")"
fi
cores=$(nproc)
jobs=${FUZZ_JOBS:-$cores}
[ "$jobs" -gt "$cores" ] && jobs=$cores
[ "$jobs" -lt 1 ] && jobs=1
# As in t_fuzz.sh: a 32 MB quarantine, GMime's targets twice as fast.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=32}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
make -C "$BUILDDIR" --no-print-directory fuzz >/dev/null || exit 1
mkdir -p "$BUILDDIR/tests/fuzz/work" "$BUILDDIR/tests/fuzz/crashes" "$BUILDDIR/tests/fuzz/logs"

one() {
    local t=$1 work=$BUILDDIR/tests/fuzz/work/$1 log=$BUILDDIR/tests/fuzz/logs/$1.log start rc execs
    local regress=$top/tests/fuzz/regressions/$t extra=()
    mkdir -p "$work"
    [ -d "$regress" ] && extra=("$regress")
    start=$(date +%s)
    timeout $((seconds + 300)) "$BUILDDIR/tests/fuzz/fuzz_$t" -timeout=10 -rss_limit_mb=2048 -error_exitcode=1 \
        -timeout_exitcode=1 -print_final_stats=1 -max_total_time="$seconds" ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} \
        -artifact_prefix="$BUILDDIR/tests/fuzz/crashes/$t-" "$work" "$top/tests/fuzz/corpus/$t" "${extra[@]}" \
        > "$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    printf '%-12s %12s executions %6d s %8s exec/s  %s\n' "$t" "${execs:-?}" "$(($(date +%s) - start))" \
        "$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")" \
        "$([ "$rc" -eq 0 ] && echo "ok" || echo "FOUND (exit $rc): $(grep -m 1 -E 'ERROR|runtime error' "$log") -- $log")"
    return "$rc"
}
export -f one
export top BUILDDIR seconds FUZZ_RUNS
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'one "$1"' _ {}
