#!/usr/bin/env bash
# t_suppression.sh -- suppression lists and automatic suspension (issue 4),
# end to end: a private Postfix with the milter relays to smtp-sinks that
# answer 250 (remote.test) and 4xx at RCPT (soft.test) and to a second
# Postfix that answers 550 5.1.1 user unknown at RCPT (bounce.test); postinbox-policyd follows its log.  A hard bounce puts the
# recipient on the sender inbox's list (row, `suppression list`); the
# next send to it is refused at RCPT with 550 5.1.1 naming the
# suppression, without charging the cap, while other recipients pass; a
# deferral and an expiry do not suppress; `suppression remove` lets the
# address through again, `suppression add` refuses it by hand.  With
# suspend_min_sends = 10 and suspend_bounce_rate = 20%: no suspension
# below 10 sends, suspension at 2 bounces in 10 sends (status, audit row,
# one inbox.suspended event, the SMTP table's reply at MAIL), a fresh
# window after reactivation.  complaint_apply() through psql: twice for
# the same message and recipient counts once and suppresses; complaints
# suspend too, and two concurrent callers suspend once.
set -u
. "$(dirname "$0")/common.sh"

pi_require_follower
# shellcheck disable=SC2119
pi_setup
LOG=$SVC_DIR/policyd.log
MAILLOG=$(svc_maillog)
PFCONF=$SVC_DIR/postfix/etc
read -r OKP BADP SOFTP APIP <<<"$(_svc_pick_ports 4)"
pi_write_conf "postfix_log = $MAILLOG" "postfix_log_state = $SVC_DIR/postfix_log.state" "log_level = debug" \
    "suspend_min_sends = 10" "suspend_bounce_rate = 20%" "api_listen = 127.0.0.1:$APIP"

smtp-sink -u postfix 127.0.0.1:"$OKP" 100 & svc_register_pid $!
pi_start_mx badmx "$BADP" "{bounce.test=550 5.1.1 user unknown}" || exit 1
smtp-sink -u postfix -r rcpt 127.0.0.1:"$SOFTP" 100 & svc_register_pid $!
svc_postconf -e "transport_maps = inline:{ {bounce.test=smtp:[127.0.0.1]:$BADP}, {soft.test=smtp:[127.0.0.1]:$SOFTP}, {remote.test=smtp:[127.0.0.1]:$OKP} }"
svc_postconf -e "minimal_backoff_time = 1s" "maximal_backoff_time = 2s" "queue_run_delay = 1s" \
    "smtp_connect_timeout = 2s"
svc_postfix_reload || exit 1

A=$(pi_account "Suppress" supp)
read -r S1_ID S1 <<<"$(pi_inbox "$A" one --daily-limit 1000 --burst-limit 1000)"
read -r S2_ID S2 <<<"$(pi_inbox "$A" two --daily-limit 1000 --burst-limit 1000)"
read -r S3_ID S3 <<<"$(pi_inbox "$A" three --daily-limit 1000 --burst-limit 1000)"
for ib in "$S1" "$S2" "$S3"; do pi_ctl login grant --login alice@example.test --inbox "$ib" >/dev/null; done
AUTH=(-a PLAIN -au alice@example.test -ap secret)

pi_start_policyd
svc_on_exit() {
    if [ "${T_FAILED:-0}" != 0 ]; then
        echo "---- $LOG (last 30 lines)" >&2; tail -30 "$LOG" >&2
        echo "---- $(pi_milter_log) (last 30 lines)" >&2; tail -30 "$(pi_milter_log)" >&2
        echo "---- $MAILLOG (last 20 lines)" >&2; tail -20 "$MAILLOG" >&2
    fi
    return 0
}

q() { svc_psql "$1"; }
send() {  # send FROM TO[,TO...]: the decisive reply line
    smtp_send "${AUTH[@]}" --from "$1" --to "$2"
}
qid() { [[ $1 =~ queued\ as\ ([0-9A-Za-z]+) ]] && echo "${BASH_REMATCH[1]}"; }
wait_sql() {  # wait_sql SQL EXPECTED [SECONDS]: until SQL prints EXPECTED
    local i
    for ((i = 0; i < ${3:-20} * 10; i++)); do
        [ "$(q "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
events_of() {  # events_of QID TYPE
    echo "SELECT count(*) FROM postinbox.event e JOIN postinbox.message m ON m.id = e.message_id
           WHERE m.queue_id = '$1' AND m.direction = 'outbound' AND e.type = '$2'"
}
suppressed() {  # suppressed INBOX_ID ADDRESS: the row's source, or nothing
    q "SELECT source FROM postinbox.suppression WHERE inbox_id = '$1' AND address = '$2'"
}
inbox_status() { q "SELECT status FROM postinbox.inbox WHERE id = '$1'"; }
RE_DATE='[0-9]{4}-[0-9]{2}-[0-9]{2}'

# ---- a hard bounce suppresses ------------------------------------------------------------
r=$(send "$S1" gone@bounce.test)
Q=$(qid "$r")
t_match "a send to an address that will bounce is accepted" '^250 ' "$r"
if wait_sql "$(events_of "$Q" message.bounced)" 1; then t_ok "it bounced (message.bounced)"; else t_fail "it bounced"; fi
t_eq "the hard bounce put the recipient on the list" bounce "$(suppressed "$S1_ID" gone@bounce.test)"
t_eq "the row names the DSN and the message" "t t" \
    "$(q "SELECT s.dsn ~ '^5\.[0-9]+\.[0-9]+$', s.message_id = m.id FROM postinbox.suppression s
           JOIN postinbox.message m ON m.queue_id = '$Q' AND m.direction = 'outbound'
          WHERE s.inbox_id = '$S1_ID' AND s.address = 'gone@bounce.test'" | tr '|' ' ')"
L=$(pi_ctl --json suppression list "$S1")
t_eq "suppression list --json: total, address, source, messageId" \
    "1 gone@bounce.test bounce $(q "SELECT id FROM postinbox.message WHERE queue_id = '$Q' AND direction = 'outbound'")" \
    "$(echo "$L" | json_get total) $(echo "$L" | json_get data.0.address) $(echo "$L" | json_get data.0.source) $(echo "$L" | json_get data.0.messageId)"
t_match "suppression list --json: dsn, reason, createdAt" "^5\.[0-9]+\.[0-9]+ .+ ${RE_DATE}T" \
    "$(echo "$L" | json_get data.0.dsn) $(echo "$L" | json_get data.0.reason) $(echo "$L" | json_get data.0.createdAt)"
t_match "suppression list (human): a table row" "bounce .*gone@bounce.test" "$(pi_ctl suppression list "$S1")"
t_eq "lookup() says the inbox has suppressions" "t f" \
    "$(q "SELECT (SELECT suppressions FROM postinbox.lookup('$S1')), (SELECT suppressions FROM postinbox.lookup('$S2'))" | tr '|' ' ')"

# ---- the next send to it is refused at RCPT, nothing charged --------------------------------
BEFORE=$(pi_sends_today "$S1")
r=$(send "$S1" Gone@Bounce.test)
t_match "a suppressed recipient: 550 5.1.1 naming the suppression" \
    "^550 5\.1\.1 .*<gone@bounce\.test> is on the suppression list of $S1: hard bounce 5\.[0-9]+\.[0-9]+ \(${RE_DATE}\)" "$r"
t_eq "the refused send charged nothing (sendsToday $BEFORE)" "$BEFORE" "$(pi_sends_today "$S1")"
t_match "the milter logs reason=suppressed" "rcpt=<gone@bounce.test> inbox=$S1 action=reject reason=suppressed source=bounce" \
    "$(cat "$(pi_milter_log)")"
r=$(send "$S1" gone@bounce.test,fine@remote.test)
t_match "with another recipient: the suppressed one is refused" '^550 5\.1\.1 ' "$r"
t_match "... and the message goes to the other one" "queued as" "$(cat "$SVC_DIR/swaks.last")"
t_eq "... which alone is charged" "$((BEFORE + 1))" "$(pi_sends_today "$S1")"
t_eq "... and alone recorded" '["fine@remote.test"]' \
    "$(q "SELECT to_json(envelope_to) FROM postinbox.message WHERE inbox_id = '$S1_ID' ORDER BY created_at DESC LIMIT 1")"
r=$(send "$S2" gone@bounce.test)
t_match "another inbox may still send to it (lists are per inbox)" '^250 ' "$r"

# ---- a deferral, then an expiry, do not suppress ---------------------------------------------
r=$(send "$S1" later@soft.test)
Q=$(qid "$r")
if wait_sql "$(events_of "$Q" message.deferred)" 1; then t_ok "4xx: message.deferred"; else t_fail "4xx: message.deferred"; fi
t_eq "a deferral does not suppress" "" "$(suppressed "$S1_ID" later@soft.test)"
svc_postconf -e "maximal_queue_lifetime = 0" "bounce_queue_lifetime = 0"
svc_postfix_reload
postqueue -c "$PFCONF" -f
if wait_sql "$(events_of "$Q" message.bounced)" 1 30; then t_ok "expired: message.bounced (soft)"; else t_fail "expired: message.bounced (soft)"; fi
t_eq "an expiry does not suppress" "" "$(suppressed "$S1_ID" later@soft.test)"
svc_postconf -X maximal_queue_lifetime bounce_queue_lifetime
svc_postfix_reload

# ---- remove, add by hand ---------------------------------------------------------------------
out=$(pi_ctl suppression remove "$S1" --address gone@bounce.test --reason "fixed their mailbox")
t_match "suppression remove" "removed gone@bounce.test \(bounce\)" "$out"
t_eq "audited: suppression.remove" "postinboxctl suppression.remove gone@bounce.test fixed their mailbox" \
    "$(q "SELECT split_part(actor, ':', 1), action, old_value, reason FROM postinbox.audit
           WHERE inbox_id = '$S1_ID' AND action LIKE 'suppression.%' ORDER BY id DESC LIMIT 1" | tr '|' ' ')"
r=$(send "$S1" gone@bounce.test)
t_match "removed: the address is accepted again" '^250 ' "$r"
out=$(pi_ctl suppression remove "$S1" --address never@remote.test 2>&1)
t_match "remove of an address not on the list: error, exit 1" "^1 .*never@remote.test is not on the suppression list" \
    "$? $out"
out=$(pi_ctl suppression remove "$S1" 2>&1)
t_match "remove without --address: usage error, exit 2" "^2 .*--address is required" "$? $out"
out=$(pi_ctl suppression add "$S1" --address 'not an address' 2>&1)
t_match "add with a malformed address: usage error, exit 2" "^2 .*not an email address" "$? $out"

out=$(pi_ctl --json suppression add "$S1" --address '<Stop@Remote.test>' --reason "asked to stop")
t_eq "suppression add: manual, lower-cased, with the reason" "stop@remote.test manual asked to stop" \
    "$(echo "$out" | json_get address) $(echo "$out" | json_get source) $(echo "$out" | json_get reason)"
t_eq "audited: suppression.add" "suppression.add stop@remote.test asked to stop" \
    "$(q "SELECT action, new_value, reason FROM postinbox.audit WHERE inbox_id = '$S1_ID'
           AND action = 'suppression.add'" | tr '|' ' ')"
out=$(pi_ctl suppression add "$S1" --address stop@remote.test 2>&1)
t_match "adding it again: a warning, exit 0, one audit row" "^0 .*already on the suppression list.* 1$" \
    "$? $out $(q "SELECT count(*) FROM postinbox.audit WHERE inbox_id = '$S1_ID' AND action = 'suppression.add'")"
r=$(send "$S1" stop@remote.test)
t_match "a manually suppressed recipient: 550 5.1.1" \
    "^550 5\.1\.1 .*<stop@remote\.test> is on the suppression list of $S1: added by an administrator \(${RE_DATE}\)" "$r"

# ---- automatic suspension: 20% bounces with at least 10 sends ------------------------------------
t_eq "S2 has 1 send so far (gone@bounce.test, accepted above)" 1 \
    "$(q "SELECT sum(cardinality(envelope_to)) FROM postinbox.message WHERE inbox_id = '$S2_ID'")"
wait_sql "SELECT count(*) FROM postinbox.message_recipient WHERE inbox_id = '$S2_ID' AND state = 'bounced'" 1
t_eq "1 bounce in 1 send (100%), under suspend_min_sends: still active" active "$(inbox_status "$S2_ID")"
r=$(send "$S2" a1@remote.test,a2@remote.test,a3@remote.test,a4@remote.test,a5@remote.test,a6@remote.test,a7@remote.test,a8@remote.test)
t_match "8 more sends" '^250 ' "$r"
r=$(send "$S2" b2@bounce.test)
Q=$(qid "$r")
if wait_sql "SELECT status FROM postinbox.inbox WHERE id = '$S2_ID'" suspended; then
    t_ok "2 bounces in 10 sends (20%): suspended"
else
    t_fail "2 bounces in 10 sends (20%): suspended" "status $(inbox_status "$S2_ID")"
fi
WHY="bounce rate 20.0% (2 of 10 sends in 24h) >= 20.0%"
t_eq "status_reason" "$WHY" "$(q "SELECT status_reason FROM postinbox.inbox WHERE id = '$S2_ID'")"
t_eq "audit row: actor postinbox, active -> suspended, the reason" "postinbox|status|active|suspended|$WHY" \
    "$(q "SELECT actor, action, old_value, new_value, reason FROM postinbox.audit WHERE inbox_id = '$S2_ID' AND action = 'status'")"
t_eq "exactly one inbox.suspended event" 1 \
    "$(q "SELECT count(*) FROM postinbox.event WHERE inbox_id = '$S2_ID' AND type = 'inbox.suspended'")"
P=$(q "SELECT payload FROM postinbox.event WHERE inbox_id = '$S2_ID' AND type = 'inbox.suspended'")
t_eq "inbox.suspended payload" "$S2_ID $S2 10 2 0 0.2 0 86400 $WHY" \
    "$(for k in inboxId address sends bounces complaints bounceRate complaintRate window reason; do echo "$P" | json_get $k; done | tr '\n' ' ' | sed 's/ $//')"
t_eq "the bounce that tipped it is suppressed too" bounce "$(suppressed "$S2_ID" b2@bounce.test)"
r=$(send "$S2" a9@remote.test)
t_match "the next MAIL FROM of the suspended inbox: 550 5.7.1 ... suspended" "^550 5\.7\.1 .*$S2.* suspended" "$r"
KEY=$(pi_ctl --json apikey create --account "$A" --name tenant | json_get key)
out=$(curl -s -w ' %{http_code}' -X PATCH -H "x-api-key: $KEY" -H 'Content-Type: application/json' \
    --data-binary '{"status": "active"}' "http://127.0.0.1:$APIP/v1/inboxes/$S2_ID")
t_eq "the tenant's key cannot lift the automatic suspension: 403 status_locked" "403 status_locked" \
    "${out##* } $(json_get error.code <<<"${out% *}")"
t_match "the refusal names the policy and its reason" "set by the automatic suspension policy: bounce rate" \
    "$(json_get error.message <<<"${out% *}")"
t_eq "still suspended, statusBy policy" "suspended policy" "$(q "SELECT status || ' ' || status_by FROM postinbox.inbox WHERE id = '$S2_ID'")"
POLICY='{"bounceRate":0.2,"complaintRate":0.005,"windowSeconds":86400,"minSends":10}'
t_eq "check_suspension again: false, still one event" "f 1" \
    "$(q "SELECT postinbox.check_suspension('$S2_ID', '$POLICY')") $(q "SELECT count(*) FROM postinbox.event WHERE inbox_id = '$S2_ID' AND type = 'inbox.suspended'")"
pi_ctl inbox activate "$S2" --reason "cleaned the list" >/dev/null
t_eq "reactivated by hand: a fresh window, no immediate re-suspension" "f active" \
    "$(q "SELECT postinbox.check_suspension('$S2_ID', '$POLICY')") $(inbox_status "$S2_ID")"
t_eq "a policy with a missing key is an error" "ERROR" \
    "$(q "SELECT postinbox.check_suspension('$S2_ID', '{\"bounceRate\":0.2}')" 2>&1 | grep -o ERROR | head -1)"
t_eq "bounceCount still counts every hard bounce" 2 "$(pi_ctl --json inbox show "$S2" | json_get bounceCount)"

# ---- complaints (complaint_apply, as the inbound report path will call it) ------------------------
r=$(send "$S3" c1@remote.test,c2@remote.test)
Q=$(qid "$r")
wait_sql "$(events_of "$Q" message.delivered)" 2
complain() {  # complain ADDRESS [POLICY]
    q "SELECT postinbox.complaint_apply(m, '$1', 'abuse', '${2:-$POLICY}') FROM postinbox.message m
        WHERE m.queue_id = '$Q' AND m.direction = 'outbound'"
}
t_eq "a complaint: new" t "$(complain C1@Remote.test)"
t_eq "the same complaint again: counted already" f "$(complain c1@remote.test)"
t_eq "not a recipient of the message: NULL, nothing done" "" "$(complain nobody@remote.test)"
t_eq "complaintCount 1" 1 "$(pi_ctl --json inbox show "$S3" | json_get complaintCount)"
t_eq "complained_at set once" 1 \
    "$(q "SELECT count(*) FROM postinbox.message_recipient WHERE inbox_id = '$S3_ID' AND complained_at IS NOT NULL")"
t_eq "the complainer is suppressed (source complaint, reason with the feedback type)" "complaint|complaint (abuse)" \
    "$(q "SELECT source, reason FROM postinbox.suppression WHERE inbox_id = '$S3_ID' AND address = 'c1@remote.test'")"
t_eq "2 sends, under minSends: still active" active "$(inbox_status "$S3_ID")"
r=$(send "$S3" c1@remote.test)
t_match "a send to the complainer: 550 5.1.1 naming the complaint" \
    "^550 5\.1\.1 .*<c1@remote\.test> is on the suppression list of $S3: complaint \(${RE_DATE}\)" "$r"
t_eq "a complaint with minSends 2: suspended on the complaint rate" "t suspended" \
    "$(complain c2@remote.test '{"bounceRate":0.2,"complaintRate":0.005,"windowSeconds":86400,"minSends":2}') $(inbox_status "$S3_ID")"
t_eq "the reason names the complaint rate" "complaint rate 100.0% (2 of 2 sends in 24h) >= 0.5%" \
    "$(q "SELECT reason FROM postinbox.audit WHERE inbox_id = '$S3_ID' AND action = 'status'")"

# ---- two callers at once suspend once (the inbox row is locked) -------------------------------------
read -r S4_ID S4 <<<"$(pi_inbox "$A" four --daily-limit 1000 --burst-limit 1000)"
pi_ctl login grant --login alice@example.test --inbox "$S4" >/dev/null
r=$(send "$S4" d1@remote.test,d2@remote.test)
Q=$(qid "$r")
wait_sql "$(events_of "$Q" message.delivered)" 2
racer() {  # racer ADDRESS: a complaint that passes the threshold, held open 1 s
    q "SELECT postinbox.complaint_apply(m, '$1', 'abuse',
               '{\"bounceRate\":0.2,\"complaintRate\":0.005,\"windowSeconds\":86400,\"minSends\":2}')
         FROM postinbox.message m WHERE m.queue_id = '$Q' AND m.direction = 'outbound';
       SELECT pg_sleep(1);" >/dev/null
}
racer d1@remote.test & R1=$!
racer d2@remote.test & R2=$!
wait "$R1" "$R2"
t_eq "two concurrent complaints: suspended once (one audit row, one inbox.suspended)" "suspended 1 1 2" \
    "$(inbox_status "$S4_ID") $(q "SELECT count(*) FROM postinbox.audit WHERE inbox_id = '$S4_ID' AND action = 'status'") $(q "SELECT count(*) FROM postinbox.event WHERE inbox_id = '$S4_ID' AND type = 'inbox.suspended'") $(q "SELECT complaint_count FROM postinbox.inbox WHERE id = '$S4_ID'")"

kill "$PD" 2>/dev/null
t_summary
