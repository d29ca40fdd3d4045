#!/usr/bin/env bash
# t_bounce_reasons.sh -- failures read by reason, end to end (issue 12):
# a private Postfix with the milter relays far.test and blocked.test to a
# second Postfix (pi_start_mx) that answers by recipient:
#   gone@   550 5.1.1 user unknown          -> user_unknown, permanent, suppressed
#   full@   552 5.2.2 mailbox full          -> mailbox_full, transient
#   spam@   550 5.7.1 rejected as spam      -> content_rejected, sender problem
#   auth@   550 5.7.26 unauthenticated      -> auth_failure, sender problem
#   slow@   451 4.3.0, queue lifetime 0     -> expired (status=expired)
#   *@blocked.test 550 5.7.1 ... Spamhaus   -> blocked, sender problem
# Each inbox first sends 20 deliverable recipients, so no rate is reached.
# Three ways of reading the same failures, one inbox each:
#   A. only the DSN Postfix mails back to the inbox (the supported set-up
#      for inboxes on the same Postfix: non_smtpd_milters = the milter,
#      internal_mail_filter_classes = bounce; policyd not running);
#   B. only Postfix's log (policyd's follower; the milter not in
#      non_smtpd_milters);
#   C. both: the same reason, one event per failure, counted once.
# Then the block rate: inbox D (suspend_min_sends 10, suspend_block_warn_rate
# 20%, suspend_block_rate 30%): 2 blocks in 10 sends give one
# inbox.reputation_warning and no suspension; 4 in 13 suspend it (reason,
# audit, event), nothing is suppressed.  A local sendmail(1) submission as
# an inbox passes the milter as non-SMTP mail and is never trusted.  An
# out-of-office reply is message.received with autoReply true (and
# message.parsed), no bounce, no suppression; a DSN that names no
# recipient is message.bounced "undetermined", counting nothing.  An
# expired hand-made suppression gives way to a permanent bounce.
# test-timeout: 900
set -u
. "$(dirname "$0")/common.sh"

pi_require_follower
# shellcheck disable=SC2119
pi_setup
LOG=$SVC_DIR/policyd.log
MAILLOG=$(svc_maillog)
read -r MXP APIP <<<"$(_svc_pick_ports 2)"
CONF=("postfix_log = $MAILLOG" "postfix_log_state = $SVC_DIR/postfix_log.state" \
    "suspend_min_sends = 10" "suspend_bounce_rate = 50%" "suspend_block_warn_rate = 20%" \
    "suspend_block_rate = 30%" "api_listen = 127.0.0.1:$APIP")
pi_write_conf "${CONF[@]}"
pi_stop_milter && pi_start_milter || exit 1

pi_start_mx farmx "$MXP" "{gone@far.test=550 5.1.1 <gone@far.test>: user unknown}, \
{full@far.test=552 5.2.2 <full@far.test>: mailbox full}, \
{spam@far.test=550 5.7.1 Message rejected as spam by Content Filtering}, \
{auth@far.test=550 5.7.26 This mail has been blocked because the sender is unauthenticated}, \
{slow@far.test=451 4.3.0 Temporary local problem - please try later}, \
{blocked.test=550 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org}" || exit 1
svc_postconf -e "transport_maps = inline:{ {far.test=smtp:[127.0.0.1]:$MXP}, {blocked.test=smtp:[127.0.0.1]:$MXP} }" \
    "maximal_queue_lifetime = 0" "bounce_queue_lifetime = 0" "minimal_backoff_time = 1s" \
    "maximal_backoff_time = 2s" "queue_run_delay = 1s" "notify_classes ="
dsn_milter() {  # dsn_milter on|off: the milter sees Postfix's own DSNs (contrib/postfix/main.cf.snippet)
    if [ "$1" = on ]; then
        svc_postconf -e "non_smtpd_milters = \$smtpd_milters" "internal_mail_filter_classes = bounce"
    else
        svc_postconf -e "non_smtpd_milters =" "internal_mail_filter_classes ="
    fi
    svc_postfix_reload
}
dsn_milter on || exit 1

ACC=$(pi_account "Reasons" reasons)
for n in a b c d; do
    read -r id addr <<<"$(pi_inbox "$ACC" "$n" --daily-limit 1000 --burst-limit 1000)"
    pi_ctl login grant --login alice@example.test --inbox "$addr" >/dev/null
    printf -v "ID_${n^^}" '%s' "$id"
    printf -v "IB_${n^^}" '%s' "$addr"
done
AUTH=(-a PLAIN -au alice@example.test -ap secret)

svc_on_exit() {
    if [ "${T_FAILED:-0}" != 0 ]; then
        echo "---- $LOG (last 30 lines)" >&2; tail -30 "$LOG" >&2
        echo "---- $(pi_milter_log) (last 40 lines)" >&2; tail -40 "$(pi_milter_log)" >&2
        echo "---- $MAILLOG (last 30 lines)" >&2; tail -30 "$MAILLOG" >&2
    fi
    return 0
}
q() { svc_psql "$1"; }
send() {  # send FROM TO[,TO...] [swaks args]: the decisive reply line
    local from=$1 to=$2
    shift 2
    smtp_send "${AUTH[@]}" --from "$from" --to "$to" "$@"
}
wait_sql() {  # wait_sql SQL EXPECTED [SECONDS]: until SQL prints EXPECTED
    local i
    for ((i = 0; i < ${3:-30} * 10; i++)); do
        [ "$(q "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
oks() { local i s=; for i in $(seq -w 1 "$1"); do s+="${s:+,}ok$i@far.test"; done; echo "$s"; }
FAILING="gone full spam auth slow"
# What each failing recipient's row says: state reason bounceType smtpCode senderProblem.
rows() {  # rows INBOX_ID
    q "SELECT split_part(address, '@', 1) || ' ' || state || ' ' || bounce_reason || ' ' || bounce_type || ' '
              || coalesce(smtp_code::text, '-') || ' ' || sender_problem
         FROM postinbox.message_recipient WHERE inbox_id = '$1' AND address NOT LIKE 'ok%' ORDER BY address" |
        tr '\n' ';'
}
EXPECT="auth bounced auth_failure transient 550 true;full bounced mailbox_full transient 552 false;gone bounced user_unknown permanent 550 false;slow expired expired transient 451 false;spam bounced content_rejected transient 550 true;"
failed_rows() { q "SELECT count(*) FROM postinbox.message_recipient WHERE inbox_id = '$1' AND state IN ('bounced', 'expired')"; }
run_inbox() {  # run_inbox ADDRESS: 20 deliverable recipients, then one message per failing recipient
    local r f
    r=$(send "$1" "$(oks 20)")
    [[ $r == 250* ]] || t_fail "$1: 20 deliverable recipients accepted" "$r"
    for f in $FAILING; do
        r=$(send "$1" "$f@far.test" --header "Subject: to $f")
        [[ $r == 250* ]] || t_fail "$1: the message to $f@far.test accepted" "$r"
    done
}
one_event_each() {  # one_event_each INBOX_ID: message.bounced events per failing recipient
    q "SELECT string_agg(n::text, ' ' ORDER BY a) FROM (
         SELECT r->>'address' AS a, count(*) AS n FROM postinbox.event e, jsonb_array_elements(e.payload->'recipients') r
          WHERE e.inbox_id = '$1' AND e.type = 'message.bounced' GROUP BY 1) x"
}
check_inbox() {  # check_inbox LABEL INBOX_ID ADDRESS
    local label=$1 id=$2 addr=$3
    if wait_sql "SELECT count(*) FROM postinbox.message_recipient WHERE inbox_id = '$id' AND state IN ('bounced', 'expired')" 5 40; then
        t_ok "$label: 5 failures recorded"
    else
        t_fail "$label: 5 failures recorded" "$(failed_rows "$id") -- $(rows "$id")"
    fi
    t_eq "$label: each failure's reason, bounceType, SMTP code, sender problem" "$EXPECT" "$(rows "$id")"
    t_eq "$label: one message.bounced per failing recipient" "1 1 1 1 1" "$(one_event_each "$id")"
    t_eq "$label: only the unknown user is suppressed (source bounce, reason user_unknown)" "gone@far.test bounce user_unknown" \
        "$(q "SELECT address || ' ' || source || ' ' || bounce_reason FROM postinbox.suppression WHERE inbox_id = '$id'")"
    t_eq "$label: bounceCount counts the permanent failure only" 1 "$(pi_ctl --json inbox show "$addr" | json_get bounceCount)"
    t_eq "$label: no warning, still active (2 blocks in 25 sends)" "active 0" \
        "$(q "SELECT status FROM postinbox.inbox WHERE id = '$id'") $(q "SELECT count(*) FROM postinbox.event WHERE inbox_id = '$id' AND type LIKE 'inbox.%'")"
    local p
    p=$(q "SELECT r FROM postinbox.event e, jsonb_array_elements(e.payload->'recipients') r
            WHERE e.inbox_id = '$id' AND e.type = 'message.bounced' AND r->>'address' = 'auth@far.test'")
    t_eq "$label: message.bounced payload of the authentication failure" \
        "auth@far.test auth_failure transient 5.7.26 550 true failed soft" \
        "$(for k in address reason bounceType status smtpCode senderProblem action type; do json_get "$k" <<<"$p"; done | tr '\n' ' ' | sed 's/ $//')"
}

# ---- A: by the DSN only ---------------------------------------------------------------------------------
# A hand-made entry for gone@ that expired a minute ago suppresses nothing;
# the permanent bounce replaces it.
q "INSERT INTO postinbox.suppression (inbox_id, address, source, reason, created_at, expires_at)
   VALUES ('$ID_A', 'gone@far.test', 'manual', 'paused', now() - interval '1 day', now() - interval '1 minute')"
run_inbox "$IB_A"
check_inbox "A (DSN only)" "$ID_A" "$IB_A"
t_eq "A: the expired hand-made entry gave way to the bounce (no expiry now)" "bounce null" \
    "$(q "SELECT source || ' ' || coalesce(expires_at::text, 'null') FROM postinbox.suppression WHERE inbox_id = '$ID_A'")"
t_eq "A: Postfix's DSNs reached the inbox through the milter (5 inbound rows from <>)" 5 \
    "$(q "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$ID_A' AND direction = 'inbound' AND envelope_from = ''")"
t_eq "A: they were read as reports (report.kind dsn)" 5 \
    "$(q "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$ID_A' AND direction = 'inbound' AND report->>'kind' = 'dsn'")"
t_eq "A: the deliverable recipients have no row (no log follower, and no DSN for a delivery)" 0 \
    "$(q "SELECT count(*) FROM postinbox.message_recipient WHERE inbox_id = '$ID_A' AND address LIKE 'ok%'")"

# ---- B: by the log only -----------------------------------------------------------------------------------
dsn_milter off || exit 1
pi_start_policyd || exit 1
run_inbox "$IB_B"
check_inbox "B (log only)" "$ID_B" "$IB_B"
t_eq "B: no DSN reached the milter" 0 \
    "$(q "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$ID_B' AND direction = 'inbound'")"
wait_sql "SELECT count(*) FROM postinbox.message_recipient WHERE inbox_id = '$ID_B' AND state = 'delivered'" 20 20
t_eq "B: the 20 deliveries come from the log" 20 \
    "$(q "SELECT count(*) FROM postinbox.message_recipient WHERE inbox_id = '$ID_B' AND state = 'delivered'")"

# ---- C: both, counted once --------------------------------------------------------------------------------
dsn_milter on || exit 1
run_inbox "$IB_C"
check_inbox "C (log and DSN)" "$ID_C" "$IB_C"
if wait_sql "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$ID_C' AND direction = 'inbound' AND envelope_from = ''" 5 20; then
    t_ok "C: the 5 DSNs arrived too"
else
    t_fail "C: the 5 DSNs arrived too" "$(q "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$ID_C' AND direction = 'inbound'")"
fi
sleep 2   # the follower and the DSNs both had their say
t_eq "C: still one message.bounced per failing recipient" "1 1 1 1 1" "$(one_event_each "$ID_C")"
t_eq "C: still bounceCount 1, one suppression" "1 1" \
    "$(pi_ctl --json inbox show "$IB_C" | json_get bounceCount) $(q "SELECT count(*) FROM postinbox.suppression WHERE inbox_id = '$ID_C'")"

# ---- D: the block rate --------------------------------------------------------------------------------------
r=$(send "$IB_D" "$(oks 8)")
t_match "D: 8 deliverable recipients" '^250 ' "$r"
wait_sql "SELECT count(*) FROM postinbox.message_recipient WHERE inbox_id = '$ID_D' AND state = 'delivered'" 8 20
r=$(send "$IB_D" b1@blocked.test,b2@blocked.test)
t_match "D: 2 recipients on a host that blocks us (10 sends)" '^250 ' "$r"
if wait_sql "SELECT count(*) FROM postinbox.message_recipient WHERE inbox_id = '$ID_D' AND state = 'bounced'" 2 30; then
    t_ok "D: 2 blocks recorded"
else
    t_fail "D: 2 blocks recorded" "$(rows "$ID_D")"
fi
t_eq "D: blocked, transient, sender problem, not suppressed" "b1 bounced blocked transient 550 true;b2 bounced blocked transient 550 true; 0" \
    "$(rows "$ID_D") $(q "SELECT count(*) FROM postinbox.suppression WHERE inbox_id = '$ID_D'")"
wait_sql "SELECT count(*) FROM postinbox.event WHERE inbox_id = '$ID_D' AND type = 'inbox.reputation_warning'" 1 10
t_eq "D: 2 blocks in 10 sends (20%): one inbox.reputation_warning, still active" "1 active" \
    "$(q "SELECT count(*) FROM postinbox.event WHERE inbox_id = '$ID_D' AND type = 'inbox.reputation_warning'") $(q "SELECT status FROM postinbox.inbox WHERE id = '$ID_D'")"
P=$(q "SELECT payload FROM postinbox.event WHERE inbox_id = '$ID_D' AND type = 'inbox.reputation_warning'")
t_eq "D: the warning's payload" "$ID_D $IB_D 10 2 0.2 0.2 0.3 86400 2" \
    "$(for k in inboxId address sends blocks blockRate warnRate suspendRate window reasons.blocked; do json_get "$k" <<<"$P"; done | tr '\n' ' ' | sed 's/ $//')"
t_match "D: the warning says why" '^block rate 20\.0% \(2 of 10 sends refused as the sender.s problem in 24h\) >= 20\.0%$' \
    "$(json_get reason <<<"$P")"
r=$(send "$IB_D" b3@blocked.test,b4@blocked.test,b5@blocked.test)
t_match "D: 3 more to the blocking host (13 sends)" '^250 ' "$r"
if wait_sql "SELECT status FROM postinbox.inbox WHERE id = '$ID_D'" suspended 30; then
    t_ok "D: suspended on the block rate"
else
    t_fail "D: suspended on the block rate" "$(rows "$ID_D")"
fi
WHY="block rate 30.769% (4 of 13 sends refused as the sender's problem in 24h) >= 30.0%"
t_eq "D: the reason, audited by postinbox" "$WHY|postinbox" \
    "$(q "SELECT status_reason FROM postinbox.inbox WHERE id = '$ID_D'")|$(q "SELECT actor FROM postinbox.audit WHERE inbox_id = '$ID_D' AND action = 'status'")"
P=$(q "SELECT payload FROM postinbox.event WHERE inbox_id = '$ID_D' AND type = 'inbox.suspended'")
t_eq "D: one inbox.suspended with the block rate" "13 4 0 0.3077" \
    "$(for k in sends blocks bounces blockRate; do json_get "$k" <<<"$P"; done | tr '\n' ' ' | sed 's/ $//')"
t_eq "D: still one warning, no suppression, bounceCount 0" "1 0 0" \
    "$(q "SELECT count(*) FROM postinbox.event WHERE inbox_id = '$ID_D' AND type = 'inbox.reputation_warning'") $(q "SELECT count(*) FROM postinbox.suppression WHERE inbox_id = '$ID_D'") $(pi_ctl --json inbox show "$IB_D" | json_get bounceCount)"
r=$(send "$IB_D" ok99@far.test)
t_match "D: its next MAIL FROM: 550 5.7.1 ... suspended" "^550 5\.7\.1 .*$IB_D.* suspended" "$r"

# ---- auto-replies ----------------------------------------------------------------------------------------------
OOO=$SVC_DIR/ooo.eml
cat >"$OOO" <<EOF
From: Pat Remote <pat@far.test>
To: $IB_A
Subject: Out of Office: to gone
Message-ID: <ooo-1@far.test>
Auto-Submitted: auto-replied
X-Autoreply: yes
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

I am away until Monday and will not be able to read your mail.
EOF
r=$(smtp_send --from pat@far.test --to "$IB_A" --data "$OOO")
t_match "an out-of-office reply to an inbox: accepted" '^250 ' "$r"
wait_sql "SELECT count(*) FROM postinbox.event e JOIN postinbox.message m ON m.id = e.message_id
           WHERE m.message_id_header = '<ooo-1@far.test>' AND e.type IN ('message.received', 'message.parsed')" 2 20
P=$(q "SELECT e.payload FROM postinbox.event e JOIN postinbox.message m ON m.id = e.message_id
        WHERE m.message_id_header = '<ooo-1@far.test>' AND e.type = 'message.received'")
t_eq "message.received: autoReply true, the header that says so" "true x-autoreply" \
    "$(json_get autoReply <<<"$P") $(json_get autoReplyHeader <<<"$P")"
P=$(q "SELECT e.payload FROM postinbox.event e JOIN postinbox.message m ON m.id = e.message_id
        WHERE m.message_id_header = '<ooo-1@far.test>' AND e.type = 'message.parsed'")
t_eq "message.parsed: autoReply true" "true" "$(json_get autoReply <<<"$P")"
t_eq "no report, no bounce event for it, the suppression list unchanged" "0 0 1" \
    "$(q "SELECT count(*) FROM postinbox.message WHERE message_id_header = '<ooo-1@far.test>' AND report IS NOT NULL") $(q "SELECT count(*) FROM postinbox.event e JOIN postinbox.message m ON m.id = e.message_id WHERE m.message_id_header = '<ooo-1@far.test>' AND e.type = 'message.bounced'") $(q "SELECT count(*) FROM postinbox.suppression WHERE inbox_id = '$ID_A'")"
r=$(smtp_send --from pat@far.test --to "$IB_A" --header "Message-Id: <plain-1@far.test>" --header "Subject: hello")
wait_sql "SELECT count(*) FROM postinbox.event e JOIN postinbox.message m ON m.id = e.message_id
           WHERE m.message_id_header = '<plain-1@far.test>' AND e.type = 'message.received'" 1 20
t_eq "ordinary mail: autoReply false" "false" \
    "$(q "SELECT e.payload->>'autoReply' FROM postinbox.event e JOIN postinbox.message m ON m.id = e.message_id
           WHERE m.message_id_header = '<plain-1@far.test>' AND e.type = 'message.received'")"

# ---- a DSN that names no recipient: undetermined, counting nothing -------------------------------------------
r=$(send "$IB_B" ok60@far.test --header "Message-Id: <undet-1@reasons.test>")
t_match "B sends one more message" '^250 ' "$r"
UND=$SVC_DIR/undetermined.eml
cat >"$UND" <<EOF
From: Mail Delivery System <MAILER-DAEMON@far.test>
To: $IB_B
Subject: Undelivered Mail Returned to Sender
Message-ID: <undet-report-1@far.test>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

Your message could not be delivered.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; far.test

--b1
Content-Type: text/rfc822-headers

Message-ID: <undet-1@reasons.test>
From: $IB_B
Subject: test

--b1--
EOF
before=$(pi_ctl --json inbox show "$IB_B" | json_get bounceCount)
r=$(smtp_send --from '' --to "$IB_B" --data "$UND")
t_match "a DSN without a readable recipient: accepted" '^250 ' "$r"
wait_sql "SELECT count(*) FROM postinbox.event e JOIN postinbox.message m ON m.id = e.message_id
           WHERE m.message_id_header = '<undet-1@reasons.test>' AND e.type = 'message.bounced'" 1 20
P=$(q "SELECT e.payload FROM postinbox.event e JOIN postinbox.message m ON m.id = e.message_id
        WHERE m.message_id_header = '<undet-1@reasons.test>' AND e.type = 'message.bounced'")
t_eq "message.bounced on the original: matched, undetermined, no recipients" "true true undetermined undetermined []" \
    "$(json_get matched <<<"$P") $(json_get undetermined <<<"$P") $(json_get reason <<<"$P") $(json_get bounceType <<<"$P") $(json_get recipients <<<"$P")"
t_eq "  bounceCount and suppressions unchanged" "$before 1" \
    "$(pi_ctl --json inbox show "$IB_B" | json_get bounceCount) $(q "SELECT count(*) FROM postinbox.suppression WHERE inbox_id = '$ID_B'")"
t_eq "  the report kept on its own row" "dsn true" \
    "$(q "SELECT report->>'kind' || ' ' || (report->>'undetermined') FROM postinbox.message WHERE message_id_header = '<undet-report-1@far.test>'")"

# ---- sendmail(1) passes the milter as non-SMTP mail, never trusted ----------------------------------------
# 127.0.0.1 trusted for SMTP: sendmail(1), also "from" 127.0.0.1, must not be.
pi_write_conf "${CONF[@]}" "trusted_networks = 127.0.0.1/32"
pi_stop_milter && pi_start_milter || exit 1
before=$(q "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$ID_A' AND direction = 'outbound'")
printf 'Subject: local\n\nfrom a shell\n' | timeout 20 /usr/sbin/sendmail -C "$SVC_DIR/postfix/etc" -f "$IB_A" ok50@far.test
svc_maillog_wait "milter-reject: MAIL from localhost\[127\.0\.0\.1\]: 5\.7\.1 $IB_A may only send with authentication" 20
t_match "sendmail(1) as an inbox, with 127.0.0.1 in trusted_networks: refused by the milter (5.7.1)" \
    "milter-reject: MAIL from localhost" "$(grep -F "may only send with authentication" "$MAILLOG" | grep -F milter-reject | tail -1)"
t_eq "  and nothing recorded or charged for it" "$before" \
    "$(q "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$ID_A' AND direction = 'outbound'")"

pi_stop_policyd
t_summary
