#!/usr/bin/env bash
# settle-cost.sh -- the cost of end of message's settle (one Redis script
# per message, issue 11) next to RCPT's reservation: builds
# tests/bench/settle-cost.c against the built lib/store and lib/util,
# starts a private Redis (tests/integration/services.sh) and runs it.
# Not a test: prints figures.  Bounded: M messages per recipient count
# (default 2000), a few seconds.
#   bash tests/bench/settle-cost.sh      M=2000 RCPTS="1 5"
set -u
. "$(dirname "$0")/../integration/common.sh"
M=${M:-2000}
RCPTS=${RCPTS:-1 5}
pi_require --no-postfix --no-milter
svc_init || exit 1
svc_start_redis || exit 1
bin=$SVC_DIR/settle-cost
# shellcheck disable=SC2046
cc -O2 -I"$PI_SRCDIR/lib/util" -I"$PI_SRCDIR/lib/core" -I"$PI_SRCDIR/lib/store" -o "$bin" \
    "$PI_SRCDIR/tests/bench/settle-cost.c" "$BUILDDIR/lib/store/libstore.a" "$BUILDDIR/lib/core/libcore.a" \
    "$BUILDDIR/lib/util/libutil.a" $(pkg-config --libs hiredis openssl) -lpthread -lm || exit 1
echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC2086
"$bin" "$PI_REDIS" "$PI_REDIS_PASSWORD_FILE" "$(cat "$SVC_DIR/redis.pid")" "$M" $RCPTS
