#!/bin/sh
# analyze.sh [DIR] -- gcc's static analyzer (-fanalyzer) over every C file
# we ship: lib/, the daemons and postinboxctl (not the unit tests: cmocka's
# assertions are not declared noreturn, so the analyzer follows every
# failed assertion onwards and reports what cannot happen), compiled
# afresh in DIR (default build-analyze/, a VPATH build, so no object of
# another build is reused and every file is analysed each time) with
# --enable-werror: one analyzer warning fails the build.  Leaves DIR/analyze.log
# (the warnings) and DIR/analyze.trs, which scripts/test-summary.sh counts
# as one test.  Exits non-zero on a warning.  scripts/test.sh runs it.
# A report that is not a bug is marked in the code (lib/util/analyzer.h).
set -eu
cd "$(dirname "$0")/.."
dir=${1:-build-analyze}
[ -x configure ] || autoreconf -fi >/dev/null
rm -rf "$dir"
mkdir "$dir"
cd "$dir"
log=analyze.log
start=$(date +%s)
status=0
{ ../configure --enable-werror CFLAGS="-g -O2 -fanalyzer" >/dev/null &&
  make -j2 -k all >build.out 2>&1; } || status=$?
warnings=$(grep -c -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' build.out || true)
{
    grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' build.out || true
    echo "analyzer: $warnings warning(s), $(($(date +%s) - start)) s"
    if [ "$status" -eq 0 ] && [ "$warnings" -eq 0 ]; then
        echo "1 passed, 0 failed"
    else
        [ "$warnings" -gt 0 ] || { tail -n 20 build.out; warnings=1; }
        echo "0 passed, $warnings failed"
    fi
} >$log
if [ "$status" -eq 0 ] && [ "$warnings" -eq 0 ]; then
    echo ":test-result: PASS" >analyze.trs
    echo "PASS: analyze ($(tail -n 2 $log | head -n 1))"
else
    echo ":test-result: FAIL" >analyze.trs
    echo "FAIL: analyze (details in $dir/build.out):"
    head -n 40 $log
    exit 1
fi
