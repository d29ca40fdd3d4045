#!/bin/sh
# test.sh -- installs what is needed, builds with warnings as errors and
# runs every test: the cmocka unit tests and the integration tests against
# real PostgreSQL, Redis and Postfix instances (make check), then prints
# one closing line "N passed, M failed" counting every test case.
#
# Every test runs under a time limit (tests/run-with-timeout.sh).  The
# results of earlier runs are removed first, and the summary reads only
# what this run wrote (tests/.test-run-stamp).  CI=true (.ci/run sets it)
# makes a skipped test a failure and always (re)configures with
# --enable-werror, whatever an earlier ./configure chose.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -x configure ] || autoreconf -fi >/dev/null
if [ "${CI-}" = true ]; then
    # Keep the options of an earlier ./configure, add --enable-werror.
    if [ ! -f Makefile ] || ! grep -q '^WARN_CFLAGS = .*-Werror' Makefile; then
        opts=$( [ -f config.status ] && ./config.status --config || true)
        eval "./configure $opts --enable-werror" >/dev/null
    fi
else
    [ -f Makefile ] || ./configure --enable-werror >/dev/null
fi
make -j2 >/dev/null
find tests -name '*.trs' | while read -r trs; do rm -f "$trs" "${trs%.trs}.log"; done
rm -f tests/test-suite.log test-suite.log
touch tests/.test-run-stamp
status=0
make check || status=$?

exec scripts/test-summary.sh "$status"
