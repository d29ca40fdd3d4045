#!/usr/bin/env bash
# track-rewrite-cost.sh -- the CPU cost of tracking one message in the
# milter: builds tests/bench/track-rewrite-cost.c against the built
# lib/mail (track_rewrite, html_links, track_token over GMime) and runs it
# on one core.  Needs no server.  Not a test: prints figures.  Bounded: N
# messages per case.
#   bash tests/bench/track-rewrite-cost.sh     N=2000 CASES="51200 50  5120 5  512000 500"
set -u
. "$(dirname "$0")/../integration/common.sh"
N=${N:-2000}
CASES=${CASES:-51200 50 5120 5 512000 500}
bin=$(mktemp -d /tmp/track-rewrite-cost.XXXXXX)/track-rewrite-cost
trap 'rm -rf "$(dirname "$bin")"' EXIT
# shellcheck disable=SC2046
cc -O2 -I"$PI_SRCDIR/lib/mail" -I"$PI_SRCDIR/lib/util" -I"$PI_SRCDIR/lib/core" $(pkg-config --cflags gmime-3.0) \
    -o "$bin" "$PI_SRCDIR/tests/bench/track-rewrite-cost.c" \
    "$BUILDDIR/lib/mail/libmail.a" "$BUILDDIR/lib/core/libcore.a" "$BUILDDIR/lib/util/libutil.a" \
    $(pkg-config --libs gmime-3.0 openssl jansson libidn2) -lopendkim || exit 1
echo "# $(nproc) CPUs, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC2086
taskset -c 0 "$bin" "$N" $CASES || exit 1
echo "Command: N=$N CASES=\"$CASES\" bash tests/bench/track-rewrite-cost.sh"
