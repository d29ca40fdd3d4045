#!/bin/sh
# test-summary.sh STATUS [DIR...] -- reads the logs make check left in
# each build directory DIR (default: tests, an in-place build) and prints one line
# per test program and a closing "N passed, M failed[, K skipped]".
# cmocka programs count their cases ("[  PASSED  ] N test(s)"); the
# integration scripts end with their own "N passed, M failed" line.  A log
# with no count at all (a crash) counts as one failure.  Exits non-zero if
# anything failed or make check itself failed (STATUS).
cd "$(dirname "$0")/.."
make_status=${1:-0}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- tests
passed=0 failed=0 skipped=0
for trs in $(for dir in "$@"; do find "$dir" -name '*.trs' | sed 's|^\./||'; done | sort); do
    log=${trs%.trs}.log
    name=${trs%.trs}
    result=$(sed -n 's/^:test-result: //p' "$trs" | head -n 1)
    p=0 f=0
    if [ "$result" = SKIP ]; then
        skipped=$((skipped + 1))
        echo "SKIP  $name"
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
        grep -E '^(FAIL|\[  FAILED|\[  ERROR)|error|Error' "$log" | head -n 40 | sed 's/^/    /'
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
