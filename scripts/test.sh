#!/bin/sh
# test.sh -- installs what is needed, then builds and tests four ways,
# each in its own build directory (VPATH: no build reuses another's
# objects):
#   build/           warnings as errors; make check runs the cmocka unit
#                    tests and the fuzz targets on their corpora (with
#                    PLAIN_INTEGRATION=1 also every integration test);
#   build-dist/      make distcheck from build/ (distcheck.sh): the tarball
#                    builds, checks and installs without the git tree;
#   build-analyze/   gcc -fanalyzer over lib/ and the programs (analyze.sh):
#                    one warning fails;
#   build-san/       --enable-sanitizers (ASan, LeakSanitizer, UBSan; the
#                    daemons, postinboxctl and the unit tests): make check
#                    runs the unit tests and every integration test against
#                    real PostgreSQL, Redis and Postfix with the sanitized
#                    daemons (not the fuzz targets: sanitized already); a
#                    sanitizer report fails the test that caused it.
# The integration tests run once, sanitized: both runs together would take
# the suite past its 45 minutes on the 2-core machine.
# Then prints one closing line "N passed, M failed" counting every test
# case of all four (scripts/test-summary.sh).
#
# Every test runs under a time limit (tests/run-with-timeout.sh).  The
# results of earlier runs are removed first, and the summary reads only
# what this run wrote (DIR/tests/.test-run-stamp).  CI=true (.ci/run sets
# it) makes a skipped test a failure; both builds always configure with
# --enable-werror.  TEST_JOBS=N runs N tests of a build at once (default 1).
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -x configure ] || autoreconf -fi >/dev/null
# configure refuses a VPATH build of a tree configured in place.
if [ -f config.status ]; then
    echo "test.sh: the source tree was configured in place; make distclean (test.sh builds in build*/)"
    make distclean >/dev/null
fi
jobs=${TEST_JOBS:-1}

# suite DIR CONFIGURE-OPTIONS [MAKE-VARIABLE=VALUE...] -- (re)configure
# DIR when its Makefile was made with other options, build, clear old
# results, write the run's stamp and the list of its tests
# (DIR/tests/.test-run-list, what test-summary.sh reads), make check.
suite() {
    dir=$1
    opts=$2
    shift 2
    mkdir -p "$dir"
    if [ ! -f "$dir/Makefile" ] || [ "$(cd "$dir" && ./config.status --config)" != "$opts" ]; then
        (cd "$dir" && eval "../configure $opts" >/dev/null) || return 1
    fi
    make -C "$dir" -j2 >/dev/null || return 1
    find "$dir/tests" -name '*.trs' | while read -r trs; do rm -f "$trs" "${trs%.trs}.log"; done
    rm -f "$dir/tests/test-suite.log" "$dir/test-suite.log"
    touch "$dir/tests/.test-run-stamp"
    make -s -C "$dir" print-tests "$@" >"$dir/tests/.test-run-list" || return 1
    make -C "$dir" -j"$jobs" check "$@"
}

status=0
start=$(date +%s)
if [ "${PLAIN_INTEGRATION-}" = 1 ]; then
    suite build "'--enable-werror'" || status=$?
else
    suite build "'--enable-werror'" INTEGRATION_TESTS= || status=$?
fi
echo "test.sh: build/ took $(($(date +%s) - start)) s"
start=$(date +%s)
scripts/distcheck.sh build build-dist || status=$?
echo "test.sh: make distcheck took $(($(date +%s) - start)) s"
start=$(date +%s)
scripts/analyze.sh || status=$?
echo "test.sh: the analyzer took $(($(date +%s) - start)) s"
start=$(date +%s)
(export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 LSAN_OPTIONS=suppressions=$(pwd)/tests/sanitizers.supp \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
 suite build-san "'--enable-sanitizers' '--enable-werror'") || status=$?
echo "test.sh: build-san/ took $(($(date +%s) - start)) s"

exec scripts/test-summary.sh "$status" build build-dist build-analyze build-san
