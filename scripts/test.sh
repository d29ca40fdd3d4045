#!/bin/sh
# test.sh -- installs what is needed, then builds and tests three ways,
# each in its own build directory (VPATH: no build reuses another's
# objects):
#   build/           warnings as errors; make check runs every test: the
#                    cmocka unit tests and the integration tests against
#                    real PostgreSQL, Redis and Postfix;
#   build-analyze/   gcc -fanalyzer over lib/ and the programs (analyze.sh):
#                    one warning fails;
#   build-san/       --enable-sanitizers (ASan, LeakSanitizer, UBSan; the
#                    daemons, postinboxctl and the unit tests): make check
#                    again, a sanitizer report fails the test that caused it.
# Then prints one closing line "N passed, M failed" counting every test
# case of all three (scripts/test-summary.sh).
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -x configure ] || autoreconf -fi >/dev/null
# configure refuses a VPATH build of a tree configured in place.
if [ -f config.status ]; then
    echo "test.sh: the source tree was configured in place; make distclean (test.sh builds in build*/)"
    make distclean >/dev/null
fi
status=0
mkdir -p build build-san
(cd build && { [ -f Makefile ] || ../configure --enable-werror >/dev/null; } && make -j2 >/dev/null) || status=$?
(cd build && make check) || status=$?
scripts/analyze.sh || status=$?
start=$(date +%s)
(cd build-san && { [ -f Makefile ] || ../configure --enable-sanitizers --enable-werror >/dev/null; } &&
    make -j2 >/dev/null &&
    ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 LSAN_OPTIONS=suppressions=$(cd .. && pwd)/tests/sanitizers.supp \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 make check) || status=$?
echo "test.sh: the sanitized build and suite took $(($(date +%s) - start)) s"

exec scripts/test-summary.sh "$status" build build-analyze build-san
