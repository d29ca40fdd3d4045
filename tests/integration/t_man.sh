#!/usr/bin/env bash
# t_man.sh -- the manual pages: postinbox.conf(5), written from the config
# table at build time, documents every key the programs accept and no
# other (compared with what `postinbox-milter -a` prints and with the keys
# of contrib/postinbox.conf.example); every page is mandoc -Tlint clean
# and carries the version; `make install` puts the four pages and the
# examples where man(1) and an admin look.
set -u
here=$(dirname "$0")
. "$here/common.sh"
command -v mandoc >/dev/null || { echo "SKIP: needs mandoc (scripts/install-deps.sh)"; exit 77; }
M=$BUILDDIR/man
PAGES="$M/postinbox-milter.8 $M/postinbox-policyd.8 $M/postinboxctl.1 $M/postinbox.conf.5"
for p in $PAGES; do
    [ -f "$p" ] || { t_fail "$(basename "$p") is built"; continue; }
    out=$(mandoc -Tlint "$p" 2>&1); rc=$?
    t_eq "$(basename "$p"): mandoc -Tlint clean" "0 " "$rc $out"
    t_eq "$(basename "$p"): no placeholder left" "" "$(grep -o '@[A-Z_]*@' "$p")"
    version=$(sed -n 's/^AC_INIT(\[postinbox\], \[\([^]]*\)\].*/\1/p' "$PI_SRCDIR/configure.ac")
    t_match "$(basename "$p"): .TH names postinbox $version" "^\\.TH .* \"postinbox $version\"" "$(head -1 "$p")"
done

CONF=$M/postinbox.conf.5
# The page's keys: the ".B name" after each ".TP" of KEYS and REPLIES.
page_keys=$(awk '/^\.SH KEYS/ || /^\.SH REPLIES/ { on = 1; next } /^\.SH/ { on = 0 }
                 on && prev == ".TP" && /^\.B / { print $2 } { prev = $0 }' "$CONF" | sort)
table_keys=$("$PI_MILTER" -c /dev/null -a | sed 's/ = .*//' | sort)
t_eq "postinbox.conf(5): every key of the table and nothing else, once each" "" \
    "$(diff <(echo "$table_keys") <(echo "$page_keys") | grep '^[<>]' | tr '\n' ' ')"
t_eq "postinbox.conf(5): as many keys as -a prints" "$(wc -l <<<"$table_keys")" "$(sort -u <<<"$page_keys" | wc -l)"
example_keys=$(sed -n 's/^#\{0,1\}\([a-z_]*\) = .*/\1/p' "$PI_SRCDIR/contrib/postinbox.conf.example" | sort -u)
t_eq "postinbox.conf(5): every key of postinbox.conf.example is documented" "" \
    "$(comm -23 <(echo "$example_keys") <(echo "$page_keys") | tr '\n' ' ')"
text=$(MANWIDTH=100 mandoc -Tascii "$CONF" | col -b)
t_match "a key's entry: type, bounds, default, reload" \
    "backend_timeout_ms[[:space:]]+integer, 20 to 25000; default 2000; a reload applies it\." "$text"
t_match "a start-only key says so" "api_listen[[:space:]]+string; default empty; read at start only\." "$text"
t_match "an enum key lists its words" "on_backend_error[[:space:]]+one of tempfail, accept; default tempfail" "$text"
t_match "a duration key's bounds" "webhook_timeout[[:space:]]+duration.*100ms to 5m; default 15s" "$text"
t_match "a reply's default" "reply_daily[[:space:]]+the sender inbox's daily cap\.[[:space:]]+Default:[[:space:]]+451 4\.7\.1 inbox \{inbox\} reached" "$text"
t_match "a secret key is marked" "database[[:space:]]+string; default host=127.0.0.1 .*masked when -n or -a prints it" "$(tr '\n' ' ' <<<"$text")"

# make install: the pages under share/man, the examples under share/doc
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
if make -s -C "$BUILDDIR" install DESTDIR="$D" prefix=/usr >/dev/null 2>"$D.err"; then
    t_ok "make install DESTDIR"
else
    t_fail "make install DESTDIR" "$(tail -5 "$D.err")"
fi
rm -f "$D.err"
for f in man/man8/postinbox-milter.8 man/man8/postinbox-policyd.8 man/man1/postinboxctl.1 man/man5/postinbox.conf.5 \
         doc/postinbox/README.md doc/postinbox/examples/postinbox.conf.example doc/postinbox/examples/main.cf.snippet \
         doc/postinbox/examples/postinbox-milter.service; do
    if [ -s "$D/usr/share/$f" ]; then t_ok "installed: /usr/share/$f"; else t_fail "installed: /usr/share/$f"; fi
done
t_match "man(1) reads the installed page" "postinbox.conf - configuration of postinbox-milter" \
    "$(MANPATH=$D/usr/share/man MANWIDTH=100 man postinbox.conf 2>/dev/null | col -b | tr -s ' ' | head -5 | tr '\n' ' ')"
t_summary
