#!/usr/bin/env bash
# t_config_check.sh -- the daemons' -t, -n and -a (lib/util/daemon_opts,
# lib/util/config_print, runtime_check): a good file passes, a bad value,
# an unreadable key file or a missing tracking key is refused with the
# key named, -n prints what the file sets with every password masked, -a
# every key once; both daemons the same.  Needs only the built binaries.
set -u
here=$(dirname "$0")
. "$here/common.sh"
for b in "$PI_MILTER" "$PI_POLICYD"; do
    [ -x "$b" ] || { echo "SKIP: needs $b"; exit 77; }
done
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
example_keys=$(sed -n 's/^#\([a-z_]*\) = .*/\1/p' "$PI_SRCDIR/contrib/postinbox.conf.example" | sort -u)

cat >"$D/good.conf" <<'CONF'
# comments and blank lines are not settings

database = host=db.example user=postinbox password='pa ss word' dbname=postinbox
redis = redis://postinbox:redis-secret@127.0.0.1:6379
log_level = debug
webhook_retry_schedule = 0s, 1m, 1h
reply_daily = 452 4.7.1 enough for today
CONF
for d in postinbox-milter postinbox-policyd; do
    bin=$PI_MILTER; [ $d = postinbox-policyd ] && bin=$PI_POLICYD
    rm -f "$D/keys" "$D/kek"
    out=$("$bin" -c "$D/good.conf" -t 2>&1)
    t_eq "$d -t: a good file" "0 $d: config OK" "$? $out"
    out=$("$bin" -c "$D/good.conf" -n 2>&1)
    t_eq "$d -n: exit 0" 0 "$?"
    t_eq "$d -n: the settings the file makes, in the table's order, passwords masked" \
        "database = host=db.example user=postinbox password=******** dbname=postinbox
redis = redis://postinbox:********@127.0.0.1:6379
log_level = debug
webhook_retry_schedule = 0s, 1m, 1h
reply_daily = 452 4.7.1 enough for today" "$out"
    case $out in *"pa ss"*|*redis-secret*) t_fail "$d -n: no password printed" ;; *) t_ok "$d -n: no password printed" ;; esac
    out=$("$bin" -c "$D/good.conf" -a 2>&1)
    names=$(sed -n 's/^\([a-z_]*\) = .*/\1/p' <<<"$out")
    t_eq "$d -a: one line per key, each key once" "$(wc -l <<<"$out")" "$(sort -u <<<"$names" | wc -l)"
    t_eq "$d -a: every key of postinbox.conf.example is there" "" \
        "$(comm -23 <(echo "$example_keys") <(sort -u <<<"$names") | tr '\n' ' ')"
    t_eq "$d -a: a default shown" "webhook_timeout = 15s" "$(grep '^webhook_timeout = ' <<<"$out")"
    t_eq "$d -a: a set value shown" "log_level = debug" "$(grep '^log_level = ' <<<"$out")"
    out=$("$bin" -c "$D/good.conf" -a -n 2>&1)
    t_match "$d -a -n: a usage error, exit 2" "^2 usage: $d \[-c FILE\] \[-f\] \[-t\] \[-n \| -a\]" "$? $out"
    out=$("$bin" -c "$D/missing.conf" -n 2>&1)
    t_match "$d -n: a missing file, exit 1, named" "^1 $d: .*missing.conf: No such file" "$? $out"

    cp "$D/good.conf" "$D/bad.conf"; echo "api_threads = many" >>"$D/bad.conf"
    out=$("$bin" -c "$D/bad.conf" -t 2>&1)
    t_match "$d -t: a bad value, exit 1, file, line and key named" "^1 $d: .*bad.conf:8: api_threads" "$? $out"

    printf 'tracking_listen = 127.0.0.1:8025\n' >"$D/track.conf"
    out=$("$bin" -c "$D/track.conf" -t 2>&1)
    t_eq "$d -t: tracking without a key file" "1 $d: tracking_base_url and tracking_listen need tracking_key_file" "$? $out"
    printf 'tracking_listen = 127.0.0.1:8025\ntracking_key_file = %s/keys\n' "$D" >"$D/track.conf"
    out=$("$bin" -c "$D/track.conf" -t 2>&1)
    t_match "$d -t: a missing tracking key file" "^1 $d: tracking_key_file: .*keys" "$? $out"
    (umask 077; printf 'short\n' >"$D/keys")
    out=$("$bin" -c "$D/track.conf" -t 2>&1)
    t_match "$d -t: a tracking key too short" "^1 $d: tracking_key_file: .*32" "$? $out"
    (umask 077; openssl rand -base64 32 >"$D/keys")
    out=$("$bin" -c "$D/track.conf" -t 2>&1)
    t_eq "$d -t: a good tracking key file" "0 $d: config OK" "$? $out"

    printf 'secret_key_file = %s/kek\n' "$D" >"$D/kek.conf"
    (umask 022; openssl rand -hex 32 >"$D/kek")
    out=$("$bin" -c "$D/kek.conf" -t 2>&1)
    t_match "$d -t: secret_key_file readable by others" "^1 $d: .*kek" "$? $out"
    chmod 600 "$D/kek"
    out=$("$bin" -c "$D/kek.conf" -t 2>&1)
    t_eq "$d -t: a good secret_key_file" "0 $d: config OK" "$? $out"

    printf 'redis_password_file = %s/nope\n' "$D" >"$D/rpw.conf"
    out=$("$bin" -c "$D/rpw.conf" -t 2>&1)
    t_match "$d -t: a missing redis_password_file" "^1 $d: redis_password_file .*nope" "$? $out"
    out=$("$bin" -c "$D/rpw.conf" -n 2>&1)
    t_eq "$d -n: prints without the deep check" "0 redis_password_file = $D/nope" "$? $out"
done
t_summary
