#!/bin/sh
# test.sh -- installs what is needed, builds with warnings as errors and
# runs every test: the cmocka unit tests and the integration tests against
# real PostgreSQL, Redis and Postfix instances (make check), then prints
# one closing line "N passed, M failed" counting every test case.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -x configure ] || autoreconf -fi >/dev/null
[ -f Makefile ] || ./configure --enable-werror >/dev/null
make -j2 >/dev/null
status=0
make check || status=$?

exec scripts/test-summary.sh "$status"
