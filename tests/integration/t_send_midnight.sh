#!/usr/bin/env bash
# t_send_midnight.sh -- t_send.sh once across 00:00 UTC, to show that its
# checks hold when the clock crosses midnight during them.  Not part of
# `make check` (it repeats t_send.sh); run it by hand as root:
#
#     tests/integration/t_send_midnight.sh [LEAD]
#
# redis-server, the milter and postinboxctl run on a clock LEAD seconds
# (default 30: about the time the fixture takes to be up) before the next
# 1 January 00:00 UTC when the script starts (libfaketime, the offset form,
# so all three agree; PostgreSQL and Postfix stay on the real clock).  Each
# line of t_send.sh's output is prefixed with that clock, so the log shows
# which checks ran before midnight and which after.  Exits as t_send.sh.
set -u
. "$(dirname "$0")/common.sh"
LEAD=${1:-30}
pi_faketime_wrap +0 >/dev/null
now_ms=$(( $(date -u +%s%N) / 1000000 ))
now=$((now_ms / 1000))
M=$(date -u -d "$(( $(date -u -d "@$((now + 86400))" +%Y) + 1 ))-01-01 00:00:00" +%s)
offset_ms=$((M * 1000 - LEAD * 1000 - now_ms))
WRAP=$(pi_faketime_wrap "+$((offset_ms / 1000)).$(printf %03d $((offset_ms % 1000)))")
export SVC_REDIS_WRAP=$WRAP PI_MILTER_WRAP=$WRAP PI_CTL_WRAP=$WRAP
echo "t_send_midnight: the product's clock starts at $(date -u -d "@$((M - LEAD))" +%FT%TZ), midnight is $(date -u -d "@$M" +%FT%TZ)"
"$PI_TESTDIR/t_send.sh" 2>&1 | while IFS= read -r line; do
    printf '[%s] %s\n' "$($WRAP date -u +%T)" "$line"
done
exit "${PIPESTATUS[0]}"
