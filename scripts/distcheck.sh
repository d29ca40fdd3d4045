#!/bin/sh
# distcheck.sh [BUILD] [DIR] -- make distcheck from the configured build
# directory BUILD (default build/): the tarball is made, unpacked, built
# in a VPATH tree whose source is read-only (so nothing the build needs
# comes from git or from files left in the source tree), with
# --enable-werror, its layer checks and the tests of the install
# (t_man.sh: make install puts the manual pages, docs, examples and units
# in place) run, installed, uninstalled and cleaned.  The unit,
# integration and fuzz tests already ran on the same sources in build/ and
# build-san/; here they would only repeat.  Leaves DIR (default
# build-dist/) /distcheck.log and distcheck.trs, which
# scripts/test-summary.sh counts as one test.  scripts/test.sh runs it.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
dir=${2:-build-dist}
rm -rf "$dir"
mkdir -p "$dir"
start=$(date +%s)
status=0
make -C "$build" -j2 distcheck UNIT_TESTS=tests/unit/test_config_print FUZZ_TESTS= INTEGRATION_TESTS=tests/integration/t_man.sh \
    >"$dir/distcheck.out" 2>&1 || status=$?
{
    grep -E '^(PASS|FAIL|ERROR|SKIP|XFAIL|XPASS):' "$dir/distcheck.out" || true
    grep -E 'archives ready for distribution' -A 1 "$dir/distcheck.out" || true
    echo "distcheck: exit $status, $(($(date +%s) - start)) s"
    if [ "$status" -eq 0 ]; then
        echo "1 passed, 0 failed"
    else
        tail -n 30 "$dir/distcheck.out"
        echo "0 passed, 1 failed"
    fi
} >"$dir/distcheck.log"
if [ "$status" -eq 0 ]; then
    echo ":test-result: PASS" >"$dir/distcheck.trs"
    echo "PASS: distcheck ($(tail -n 2 "$dir/distcheck.log" | head -n 1))"
else
    echo ":test-result: FAIL" >"$dir/distcheck.trs"
    echo "FAIL: distcheck (details in $dir/distcheck.out):"
    tail -n 40 "$dir/distcheck.log"
    exit 1
fi
