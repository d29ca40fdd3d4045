#!/usr/bin/env bash
# tests/run-with-timeout.sh TEST [ARGS...] -- the LOG_COMPILER of make check:
# runs one test (a unit program or an integration script) under a time
# limit, so a hang fails that test and not the whole run.
#
# The limit: TEST_TIMEOUT (seconds) if set, else a line
# "# test-timeout: SECONDS" among the first 30 lines of a test script,
# else 400 s; TEST_TIMEOUT_SCALE (a whole number, default 1) multiplies it
# (slower builds: sanitizers, valgrind).  Past the limit, timeout(1) sends
# SIGTERM to the test's whole process group (the script, its jobs, the
# milter and policyd it started), so the script's EXIT trap stops its
# PostgreSQL, Redis and Postfix; SIGKILL follows 30 s later.  Then, killed
# or not, every $SVC_DIR the test made (svc_init writes it to
# $PI_TEST_SVC_LIST) that still exists is swept with svc_stop_all: servers
# that left the process group (Redis and Postfix daemonize) never outlive
# their test.  A test over its limit prints "FAIL - time limit ..." and
# exits 1.
#
# CI=true: a skipped test (exit 77) is a failure: "FAIL - skipped under
# CI=true", after the test's own SKIP line with the reason, exit 1.
set -u
test=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

limit=${TEST_TIMEOUT:-}
if [ -z "$limit" ]; then
    limit=400
    if [ "$(head -c 2 "$test" 2>/dev/null)" = '#!' ]; then
        own=$(head -n 30 "$test" | sed -n 's/^# test-timeout: \([0-9][0-9]*\)$/\1/p' | head -n 1)
        [ -n "$own" ] && limit=$own
    fi
fi
limit=$((limit * ${TEST_TIMEOUT_SCALE:-1}))

run_dir=$(mktemp -d /tmp/pi-run.XXXXXX) || exit 99
export PI_TEST_SVC_LIST=$run_dir/svc_dirs
: >"$PI_TEST_SVC_LIST"

start=$SECONDS
# A script runs through bash, so its file mode does not matter (a test
# committed without the executable bit ran as "Permission denied").
case $test in
*.sh) set -- bash "$@" ;;
esac
timeout -k 30 "$limit" "$@" </dev/null
rc=$?
took=$((SECONDS - start))

# Sweep what the test left running (nothing, when it ended normally).
while read -r dir; do
    [ -d "$dir" ] || continue
    # shellcheck disable=SC2016
    timeout 120 bash -c '
        . "$1/integration/services.sh"
        SVC_DIR=$2
        # shellcheck disable=SC1091
        [ -f "$SVC_DIR/ports" ] && . "$SVC_DIR/ports"
        export SVC_DIR PG_PORT REDIS_PORT SMTP_PORT
        svc_stop_all' _ "$here" "$dir" >/dev/null 2>&1
    [ -d "$dir" ] && [ "${KEEP_TEST_DIR-}" != 1 ] && echo "# run-with-timeout: could not remove $dir" >&2
done <"$PI_TEST_SVC_LIST"
rm -rf "$run_dir"

if [ $rc = 124 ] || { [ $rc = 137 ] && [ $took -ge "$limit" ]; }; then
    echo "FAIL - time limit: $test ran longer than $limit s and was killed (status $rc after $took s);" \
        "TEST_TIMEOUT=SECONDS or a '# test-timeout: SECONDS' line sets the limit"
    exit 1
fi
if [ $rc = 77 ] && [ "${CI-}" = true ]; then
    echo "FAIL - skipped under CI=true (a skip is a failure in CI; the reason is the SKIP line above)"
    exit 1
fi
exit $rc
