#!/usr/bin/env bash
# t_redis_auth.sh -- Redis with passwords, as production runs it (the
# harness's Redis: ACL user postinbox on keys pi:*, the default user an
# admin).  With the right credentials mail is accepted and charged, by the
# milter and by the policy service; a wrong password answers 451 4.3.0,
# charges nothing and logs an AUTH error naming the user; a client without
# credentials can neither read nor write the counters, postinbox's user can
# run nothing else; and no password ever reaches a log, postinboxctl's
# output or /metrics.
set -u
. "$(dirname "$0")/common.sh"
pi_init
PC=$PI_TESTDIR/policy_client.py
pi_setup --policyd "policy_listen = 127.0.0.1:$POLICY_PORT" "metrics_listen = 127.0.0.1:$HTTP_PORT" \
    "log_level = debug"

A=$(pi_account "Acme" acme)
read -r BOB_ID BOB <<<"$(pi_inbox "$A" bob)"
pi_ctl login grant --login alice@example.test --inbox "$BOB" >/dev/null
AUTH=(-a PLAIN -au alice@example.test -ap secret)
PASS=$(head -n 1 "$PI_REDIS_PASSWORD_FILE")
ADMIN_PASS=$(head -n 1 "$REDIS_ADMIN_SECRET")
# A wrong password with characters that need percent-encoding in the URL.
WRONG_DECODED='wr0ng:p@ss/word'
WRONG_URL='wr0ng%3Ap%40ss%2Fword'

# Sends today straight from Redis, as its admin.
# (the days since pi_setup summed, so a run across 00:00 UTC counts the same)
redis_sends() { pi_redis_sends "$BOB_ID"; }
preq() {
    local s='request=smtpd_access_policy\n' kv
    for kv in "$@"; do s+="$kv"'\n'; done
    printf '%s' "$s"'\n'
}

t_match "the tests' config names the ACL user and a password file" \
    "^redis = redis://postinbox@127\.0\.0\.1:$REDIS_PORT$" "$(grep '^redis = ' "$PI_CONF")"
t_eq "the password file is 0600" 600 "$(stat -c %a "$PI_REDIS_PASSWORD_FILE")"

# --- (a) the right credentials: accepted and charged -----------------------------
r=$(smtp_send "${AUTH[@]}" --from "$BOB" --to friend@remote.test)
t_match "right credentials: outbound mail accepted" '^250 ' "$r"
t_eq "right credentials: sendsToday counts it" 1 "$(pi_sends_today "$BOB_ID")"
t_eq "right credentials: Redis holds the charge" 1 "$(redis_sends)"
a=$(python3 "$PC" "$POLICY_PORT" "$(preq protocol_state=RCPT "sender=$BOB" recipient=x@remote.test \
    sasl_username=alice@example.test client_address=192.0.2.1 instance=auth.1)")
t_eq "right credentials: the policy service checks the caps in Redis" "action=DUNNO" "$a"

# --- (b) a milter with a wrong password: 451 4.3.0, nothing charged -------------
sed -e "s|^redis = .*|redis = redis://postinbox:$WRONG_URL@127.0.0.1:$REDIS_PORT|" \
    -e '/^redis_password_file = /d' -e '/^metrics_listen = /d' "$PI_CONF" > "$SVC_DIR/wrong.conf"
pi_start_milter "$MILTER2_PORT" "$SVC_DIR/wrong.conf" || t_fail "milter with a wrong password starts"
svc_postconf -e "smtpd_milters = inet:127.0.0.1:$MILTER2_PORT"
svc_postfix_reload
before=$(redis_sends)
r=$(smtp_send "${AUTH[@]}" --from "$BOB" --to w1@remote.test)
t_match "wrong password: outbound gets 451 4.3.0" '^451 4\.3\.0 ' "$r"
r=$(smtp_send "${AUTH[@]}" --from "$BOB" --to w2@remote.test)
t_match "wrong password: again 451 4.3.0 (no crash, same answer)" '^451 4\.3\.0 ' "$r"
t_eq "wrong password: nothing charged" "$before" "$(redis_sends)"
t_eq "wrong password: no outbound record" 1 \
    "$(svc_psql "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$BOB_ID' AND direction = 'outbound'")"
WLOG=$(pi_milter_log "$MILTER2_PORT")
t_match "wrong password: the log names the refused AUTH and the user" \
    "redis AUTH refused at 127\.0\.0\.1:$REDIS_PORT as user postinbox: WRONGPASS" "$(cat "$WLOG")"
kill -0 "$(pi_milter_pid "$MILTER2_PORT")" 2>/dev/null && t_ok "wrong password: the milter is still running" \
    || t_fail "wrong password: the milter is still running" "it died"
pi_stop_milter "$MILTER2_PORT"
svc_postconf -e "smtpd_milters = inet:127.0.0.1:$MILTER_PORT"
svc_postfix_reload

# postinboxctl with the wrong password: sendsToday null, a warning, no password.
out=$("$PI_CTL" -c "$SVC_DIR/wrong.conf" --json inbox show "$BOB_ID" 2>&1)
t_match "ctl, wrong password: the warning names the AUTH refusal" 'redis AUTH refused at .* as user postinbox' "$out"
t_match "ctl, wrong password: sendsToday is null" '"sendsToday": null' "$out"
CTL_OUT=$out

# The plain host:port form with redis_password_file is AUTH PASSWORD, the
# default user's (requirepass).
sed -e "s|^redis = .*|redis = 127.0.0.1:$REDIS_PORT|" \
    -e "s|^redis_password_file = .*|redis_password_file = $REDIS_ADMIN_SECRET|" "$PI_CONF" > "$SVC_DIR/plain.conf"
t_eq "host:port with redis_password_file: AUTH as the default user works" 1 \
    "$("$PI_CTL" -c "$SVC_DIR/plain.conf" --json inbox show "$BOB_ID" | json_get sendsToday)"

# A password file other users can read is refused at start, naming the file.
cp "$PI_REDIS_PASSWORD_FILE" "$SVC_DIR/open.secret"
chmod 644 "$SVC_DIR/open.secret"
sed -e "s|^redis_password_file = .*|redis_password_file = $SVC_DIR/open.secret|" \
    -e "s|^milter_socket = .*|milter_socket = inet:$MILTER2_PORT@127.0.0.1|" -e '/^metrics_listen = /d' \
    "$PI_CONF" > "$SVC_DIR/open.conf"
out=$(timeout 10 "$PI_MILTER" -c "$SVC_DIR/open.conf" -f 2>&1)
rc=$?
t_eq "a world-readable password file: the milter refuses to start" 1 "$rc"
t_match "a world-readable password file: the error names it" 'open\.secret: readable by other users' "$out"
OPEN_OUT=$out

# --- (c) no credentials, or the wrong ones: no access to the counters ----------
day=$(( $(svc_redis_cli TIME | head -n 1) / 86400 ))
key="pi:{$BOB_ID}:daily"
out=$(runuser -u nobody -- redis-cli -h 127.0.0.1 -p "$REDIS_PORT" HGET "$key" "$day" 2>&1)
t_match "no credentials: reading a counter is NOAUTH" 'NOAUTH' "$out"
out=$(runuser -u nobody -- redis-cli -h 127.0.0.1 -p "$REDIS_PORT" HSET "$key" "$day" 0 2>&1)
t_match "no credentials: writing a counter is NOAUTH" 'NOAUTH' "$out"
out=$(runuser -u nobody -- env REDISCLI_AUTH="$WRONG_DECODED" \
    redis-cli --user postinbox -h 127.0.0.1 -p "$REDIS_PORT" HINCRBY "$key" "$day" -1 2>&1)
t_match "the wrong password: WRONGPASS" 'WRONGPASS' "$out"
t_eq "the counter is untouched" 1 "$(redis_sends)"
if runuser -u nobody -- cat "$PI_REDIS_PASSWORD_FILE" >/dev/null 2>&1; then
    t_fail "other users cannot read the password file" "nobody read it"
else
    t_ok "other users cannot read the password file"
fi
# postinbox's ACL user may run its scripts, nothing else.
pcli() { REDISCLI_AUTH=$PASS redis-cli --user postinbox -h 127.0.0.1 -p "$REDIS_PORT" "$@" 2>&1; }
t_match "ACL user postinbox: FLUSHALL is refused" 'NOPERM' "$(pcli FLUSHALL)"
t_match "ACL user postinbox: CONFIG GET is refused" 'NOPERM' "$(pcli CONFIG GET requirepass)"
t_match "ACL user postinbox: KEYS is refused" 'NOPERM' "$(pcli KEYS '*')"
t_match "ACL user postinbox: keys outside pi:* are refused" 'NOPERM' "$(pcli EVAL "return redis.call('HGET', KEYS[1], 'x')" 1 other:key)"
t_eq "the admin still has everything" 1 "$(redis_sends)"

# --- Redis restarted: the pool reconnects and authenticates again ---------------
# (A pooled connection the restart closed fails its next call, as in
# t_faults.sh; that one send may be 451, the next must not be.)
svc_stop_redis
svc_start_redis || t_fail "Redis starts again"
sleep 0.3
smtp_send "${AUTH[@]}" --from "$BOB" --to stale-connection@remote.test >/dev/null
r=$(smtp_send "${AUTH[@]}" --from "$BOB" --to after-restart@remote.test)
t_match "Redis restarted: mail flows again, authenticated" '^250 ' "$r"

# --- (d) no password anywhere a person or a scraper reads -----------------------
METRICS=$(curl -s "http://127.0.0.1:$HTTP_PORT/metrics")
t_match "the milter's /metrics answers" 'postinbox_milter_' "$METRICS"
leaks=
for f in "$(pi_milter_log)" "$WLOG" "$SVC_DIR/policyd.log"; do
    [ -s "$f" ] || { t_fail "log $f exists" "empty or missing"; continue; }
    for secret in "$PASS" "$ADMIN_PASS" "$WRONG_DECODED" "$WRONG_URL"; do
        grep -qF -- "$secret" "$f" && leaks="$leaks $(basename "$f")"
    done
done
for text in "$METRICS" "$CTL_OUT" "$OPEN_OUT"; do
    for secret in "$PASS" "$ADMIN_PASS" "$WRONG_DECODED" "$WRONG_URL"; do
        grep -qF -- "$secret" <<<"$text" && leaks="$leaks output"
    done
done
t_eq "no password in the milter, policyd or ctl output or /metrics" "" "$leaks"

t_summary
