#!/usr/bin/env bash
# t_layers.sh -- the layering of lib/ (scripts/check-layers.py) holds for
# the tree, and the check really fails on each kind of violation: a lower
# layer including a higher one, a library including libmilter, two modules
# including each other, one program including the other's files.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
check=$top/scripts/check-layers.py
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1${2:+: $2}"; }

out=$(python3 "$check" "$top" 2>&1)
if [ $? -eq 0 ]; then ok "the tree keeps its layers"; else fail "the tree keeps its layers" "$out"; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# expect_violation NAME FILE LINE [FILE2 LINE2]: FILE (relative) gets LINE
# (and FILE2 LINE2); the check must fail naming FILE.
expect_violation() {
    rm -rf "$tmp/t" && mkdir -p "$tmp/t" && cp -r "$top/lib" "$top/milter" "$top/policyd" "$top/ctl" "$tmp/t/"
    printf '%s\n' "$3" >> "$tmp/t/$2"
    [ $# -ge 5 ] && printf '%s\n' "$5" >> "$tmp/t/$4"
    out=$(python3 "$check" "$tmp/t" 2>&1)
    if [ $? -ne 0 ] && printf '%s' "$out" | grep -q "^FAIL - .*${2%.*}"; then
        ok "$1 is refused"
    else
        fail "$1 is refused" "$out"
    fi
}
expect_violation "core including the store" lib/core/decide.h '#include "store.h"'
expect_violation "util including core" lib/util/log.c '#include "decide.h"'
expect_violation "mail including net" lib/mail/send.c '#include "httpd.h"'
expect_violation "a library including libmilter" lib/store/store.c '#include <libmilter/mfapi.h>'
expect_violation "core including libpq" lib/core/decide.c '#include <libpq-fe.h>'
expect_violation "policyd including the milter's callbacks" policyd/policy_check.c '#include "callbacks.h"'
expect_violation "two modules including each other" lib/util/clock.h '#include "log.h"' lib/util/log.h '#include "clock.h"'
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
