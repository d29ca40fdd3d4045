#!/bin/sh
# test-summary.sh STATUS [DIR...] -- reads the logs make check left in
# each build directory DIR (default: ., an in-place build) and prints one line
# per test program and a closing "N passed, M failed[, K skipped]".
# cmocka programs count their cases ("[  PASSED  ] N test(s)"); the
# integration scripts end with their own "N passed, M failed" line.  A log
# with no count at all (a crash, a time limit) counts as one failure.
# Exits non-zero if anything failed or make check itself failed (STATUS).
#
# Only this run's results count: the tests are those scripts/test.sh
# listed in DIR/tests/.test-run-list (make print-tests, with the same
# variables as its make check), each result must be newer than
# DIR/tests/.test-run-stamp (scripts/test.sh touches it before make check);
# a test without a fresh result is a failure ("no result from this run"),
# and results of tests that are no longer in TESTS are never read.
# With CI=true a skipped test is a failure, its SKIP line the reason.
cd "$(dirname "$0")/.."
make_status=${1:-0}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- .
passed=0 failed=0 skipped=0
# The results to read, one "DIR/NAME" per line: the TESTS of each make
# check build directory (only if newer than its stamp), or analyze.sh's
# one result (analyze.trs).
results=""
for dir in "$@"; do
    dir=${dir%/}
    if [ -f "$dir/analyze.trs" ]; then  # analyze.sh's one result (it makes $dir afresh)
        results="$results $dir/analyze"
        continue
    fi
    if [ -f "$dir/distcheck.trs" ]; then  # distcheck.sh's one result (likewise)
        results="$results $dir/distcheck"
        continue
    fi
    stamp=$dir/tests/.test-run-stamp
    if [ ! -f "$stamp" ]; then
        echo "FAIL  $dir: no $stamp (scripts/test.sh marks the start of the run)"
        failed=$((failed + 1))
        continue
    fi
    tests=$(cat "$dir/tests/.test-run-list" 2>/dev/null)
    if [ -z "$tests" ]; then
        echo "FAIL  $dir: no test in $dir/tests/.test-run-list"
        failed=$((failed + 1))
        continue
    fi
    for name in $tests; do
        name=${name%.exe}
        if [ ! -f "$dir/$name.trs" ] || [ ! "$dir/$name.trs" -nt "$stamp" ]; then
            echo "FAIL  $dir/$name: no result from this run"
            failed=$((failed + 1))
            continue
        fi
        results="$results $dir/$name"
    done
done
for name in $results; do
    name=${name#./}
    trs=$name.trs
    log=$name.log
    result=$(sed -n 's/^:test-result: //p' "$trs" | head -n 1)
    p=0 f=0
    if [ "$result" = SKIP ]; then
        reason=$(grep -m 1 '^SKIP' "$log" 2>/dev/null)
        if [ "${CI-}" = true ]; then
            echo "FAIL  $name: skipped, and CI=true makes a skip a failure (${reason:-no SKIP line in $log})"
            failed=$((failed + 1))
        else
            echo "SKIP  $name${reason:+: $reason}"
            skipped=$((skipped + 1))
        fi
        continue
    fi
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -n "$line" ]; then
        p=$(echo "$line" | sed 's/ passed.*//')
        f=$(echo "$line" | sed 's/.* passed, \([0-9]*\) failed.*/\1/')
    else
        p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s += $1} END {print s + 0}')
        f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s += $1} END {print s + 0}')
    fi
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
        f=1
    fi
    if [ "$result" != PASS ] && [ "$f" -eq 0 ]; then
        f=1
    fi
    if [ "$f" -gt 0 ]; then
        echo "FAIL  $name: $p passed, $f failed -- log follows"
        grep -E '^(FAIL|SKIP|\[  FAILED|\[  ERROR)|error|Error' "$log" | head -n 40 | sed 's/^/    /'
    else
        echo "ok    $name: $p passed"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
done
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
    failed=1
    echo "no test results found"
fi
if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$make_status" -eq 0 ]
