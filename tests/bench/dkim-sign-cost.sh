#!/usr/bin/env bash
# dkim-sign-cost.sh -- the CPU cost of DKIM signing one message, as the
# milter signs it: builds tests/bench/dkim-sign-cost.c against the built
# lib/mail (dkim_signer, dkim_keygen) and runs it on one core.  Needs no
# server.  Not a test: prints figures.  Bounded: N messages per size.
# The whole milter with signing off and on, interleaved: KNOB=dkim_signing
# VALUES="no yes" bash tests/bench/milter-cpu.sh.
#   bash tests/bench/dkim-sign-cost.sh      N=2000 BITS="2048" SIZES="1024 51200 1048576"
set -u
. "$(dirname "$0")/../integration/common.sh"
N=${N:-2000}
BITS=${BITS:-2048}
SIZES=${SIZES:-1024 51200 1048576}
bin=$(mktemp -d /tmp/dkim-sign-cost.XXXXXX)/dkim-sign-cost
trap 'rm -rf "$(dirname "$bin")"' EXIT
# shellcheck disable=SC2046
cc -O2 -I"$PI_SRCDIR/lib/mail" -I"$PI_SRCDIR/lib/util" -o "$bin" "$PI_SRCDIR/tests/bench/dkim-sign-cost.c" \
    "$BUILDDIR/lib/mail/libmail.a" "$BUILDDIR/lib/util/libutil.a" -lopendkim $(pkg-config --libs openssl) || exit 1
echo "# $(nproc) CPUs, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for b in $BITS; do
    # shellcheck disable=SC2086
    taskset -c 0 "$bin" "$N" "$b" $SIZES || exit 1
done
echo "Command: N=$N BITS=\"$BITS\" SIZES=\"$SIZES\" bash tests/bench/dkim-sign-cost.sh"
