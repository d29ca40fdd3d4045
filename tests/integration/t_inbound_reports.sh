#!/usr/bin/env bash
# t_inbound_reports.sh -- bounces and complaints arriving BY MAIL at an
# inbox, through the real milter in a real Postfix.
#
#   1. A bounce Postfix generates itself: the inbox sends to an address an
#      a second Postfix (pi_start_mx) refuses with 550 5.1.1; policyd's log follower records the
#      bounce; Postfix mails the DSN back to the inbox (captured by an
#      smtp-sink -d and fed back in over SMTP).  Counted once.
#   2. The same, DSN first and the log line after: counted once.
#   3. A remote MTA accepts (log: delivered) and bounces later: the DSN
#      turns delivered into bounced.
#   4. Hand-written bounces in the styles of Exchange, Gmail, qmail, Exim,
#      Yahoo and Sendmail, matched to messages the inbox sent; their hard
#      bounces suppress the recipient (the next send: 550 5.1.1).
#   5. Delay warnings are message.deferred and count nothing.
#   6. An ARF complaint: message.complained, complaintCount and
#      suppression once, however often the report comes.
#   7. A DSN about a message the inbox never sent: message.bounced with
#      matched=false, nothing counted.  Another inbox's message is never
#      touched by it.
#   8. Broken reports: the message is recorded (message.received), no crash.
#   9. A message over parse_max_size: recorded, contentTruncated.
#  10. Bounces by mail suspend an inbox past suspend_bounce_rate.
#  11. Parsed content: text (from ISO-8859-1 QP), HTML, the reply without
#      the quoted history, an attachment's name, type, size and SHA-256
#      (message.parsed and the row); broken MIME recorded with defects.
set -u
. "$(dirname "$0")/common.sh"

FIX=$PI_SRCDIR/tests/fixtures/dsn
pi_require_follower
# shellcheck disable=SC2119
pi_setup
LOG=$SVC_DIR/policyd.log
MAILLOG=$(svc_maillog)
pi_write_conf "postfix_log = $MAILLOG" "postfix_log_state = $SVC_DIR/postfix_log.state" \
    "parse_max_size = 200000"
pi_stop_milter && pi_start_milter || exit 1

read -r BADP <<<"$(_svc_pick_ports 1)"
pi_start_mx badmx "$BADP" "{remote.test=550 5.1.1 user unknown}" || exit 1
pi_start_sink || exit 1
# Mail to the inboxes (the sandbox domain) is captured; bad@remote.test is refused.
svc_postconf -e "transport_maps = inline:{ {bad@remote.test=smtp:[127.0.0.1]:$BADP}, {bad2@remote.test=smtp:[127.0.0.1]:$BADP}, {bad3@remote.test=smtp:[127.0.0.1]:$BADP}, {$SANDBOX=smtp:[127.0.0.1]:$SINKP} }"
svc_postfix_reload || exit 1

A=$(pi_account "Reports" reports)
read -r SENDER_ID SENDER <<<"$(pi_inbox "$A" sender --daily-limit 1000 --burst-limit 1000)"
read -r OTHER_ID OTHER <<<"$(pi_inbox "$A" other --daily-limit 1000 --burst-limit 1000)"
pi_ctl login grant --login alice@example.test --inbox "$SENDER" >/dev/null
pi_ctl login grant --login alice@example.test --inbox "$OTHER" >/dev/null
AUTH=(-a PLAIN -au alice@example.test -ap secret)

svc_on_exit() {
    if [ "${T_FAILED:-0}" != 0 ]; then
        echo "---- $LOG (last 30 lines)" >&2; tail -30 "$LOG" >&2
        echo "---- milter log (last 30 lines)" >&2; tail -30 "$(pi_milter_log)" >&2
        echo "---- $MAILLOG (last 20 lines)" >&2; tail -20 "$MAILLOG" >&2
    fi
    return 0
}
q() { svc_psql "$1"; }
qid_of() { [[ $1 =~ queued\ as\ ([0-9A-Za-z]+) ]] && echo "${BASH_REMATCH[1]}"; }
send_from() {  # send_from INBOX MSGID TO[,TO...]: prints the queue id
    qid_of "$(smtp_send "${AUTH[@]}" --from "$1" --to "$3" --header "Message-Id: <$2>")"
}
feed() {  # feed FILE [TO]: the file as a message from <> to the inbox; prints the reply
    smtp_send --from '' --to "${2:-$SENDER}" --data "$1"
}
events_of() {  # events_of MSGID TYPE: events of TYPE on the outbound message with that Message-ID
    q "SELECT count(*) FROM postinbox.event e JOIN postinbox.message m ON m.id = e.message_id
        WHERE m.message_id_header = '<$1>' AND m.direction = 'outbound' AND e.type = '$2'"
}
payload_of() {
    q "SELECT e.payload FROM postinbox.event e JOIN postinbox.message m ON m.id = e.message_id
        WHERE m.message_id_header = '<$1>' AND m.direction = 'outbound' AND e.type = '$2'
        ORDER BY e.created_at DESC LIMIT 1"
}
rstate() {  # rstate MSGID ADDRESS: the recipient's state on that outbound message
    q "SELECT r.state FROM postinbox.message_recipient r JOIN postinbox.message m ON m.id = r.message_id
        WHERE m.message_id_header = '<$1>' AND m.direction = 'outbound' AND r.address = '$2'"
}
bounces() { q "SELECT bounce_count FROM postinbox.inbox WHERE id = '${1:-$SENDER_ID}'"; }
wait_for() {  # wait_for SECONDS CMD...: until CMD succeeds
    local n=$1 i
    shift
    for ((i = 0; i < n * 10; i++)); do "$@" && return 0; sleep 0.1; done
    return 1
}
ge() { [ "$(eval "$1")" -ge "$2" ]; }
# The DSN Postfix delivered for the bounce of queue id $1: a capture file
# holding "X-Postfix-Queue-ID: $1", without smtp-sink's own X- lines.
capture() {
    local f
    f=$(grep -l "X-Postfix-Queue-ID: $1" "$SINK"/* 2>/dev/null | head -1)
    [ -n "$f" ] || return 1
    sed -e '1,/^X-Rcpt-Args:/{/^X-\(Client-Addr\|Client-Proto\|Helo-Args\|Mail-Args\|Rcpt-Args\):/d}' "$f" \
        > "$SVC_DIR/dsn-$1.eml"
}

pi_start_policyd

# ---- 1. Postfix's own bounce: log first, then the DSN by mail --------------------------
Q1=$(send_from "$SENDER" b1@test bad@remote.test)
t_match "an outbound message is queued" "^[0-9A-Za-z]+$" "$Q1"
if wait_for 20 ge "events_of b1@test message.bounced" 1; then t_ok "the log follower saw the bounce"; else t_fail "the log follower saw the bounce"; fi
t_eq "bounceCount 1 after the log line" 1 "$(bounces)"
if wait_for 20 capture "$Q1"; then t_ok "Postfix mailed a DSN back to the inbox"; else t_fail "Postfix mailed a DSN back to the inbox"; fi
t_match "the captured DSN is a multipart/report" "report-type=delivery-status" "$(cat "$SVC_DIR/dsn-$Q1.eml" 2>/dev/null)"
r=$(feed "$SVC_DIR/dsn-$Q1.eml")
t_match "the DSN fed back is accepted" "^250 " "$r"
QD1=$(qid_of "$r")
t_eq "the DSN is recorded as an inbound message with its report" "inbound dsn rfc3464 bad@remote.test" \
    "$(q "SELECT direction, report->>'kind', report->>'style', report->'recipients'->0->>'address'
           FROM postinbox.message WHERE queue_id = '$QD1' AND inbox_id = '$SENDER_ID'" | tr '|' ' ')"
t_eq "bounceCount still 1: log and DSN count once" 1 "$(bounces)"
t_eq "still one message.bounced on the original" 1 "$(events_of b1@test message.bounced)"
t_eq "the DSN's own event: message.received marked duplicate" "message.received true" \
    "$(q "SELECT e.type, e.payload->'report'->>'duplicate' FROM postinbox.event e JOIN postinbox.message m
           ON m.id = e.message_id WHERE m.queue_id = '$QD1' AND m.inbox_id = '$SENDER_ID' AND e.type <> 'message.parsed'" | tr '|' ' ')"

# ---- 2. the DSN first, the log line after ---------------------------------------------------
pi_stop_policyd
Q2=$(send_from "$SENDER" b2@test bad2@remote.test)
if wait_for 20 capture "$Q2"; then t_ok "a second DSN while the follower is stopped"; else t_fail "a second DSN while the follower is stopped"; fi
r=$(feed "$SVC_DIR/dsn-$Q2.eml")
t_match "the second DSN is accepted" "^250 " "$r"
t_eq "the DSN alone yields message.bounced on the original" 1 "$(events_of b2@test message.bounced)"
P=$(payload_of b2@test message.bounced)
t_eq "payload: recipient, status, action, type, matched, originalMessageId" \
    "bad2@remote.test 5.1.1 failed hard true <b2@test>" \
    "$(for k in recipients.0.address recipients.0.status recipients.0.action recipients.0.type matched originalMessageId; do echo "$P" | json_get $k; done | xargs)"
t_match "payload: the diagnostic is the remote's reply" "550 5\.1\.1 .*user unknown" "$(echo "$P" | json_get recipients.0.diagnostic)"
t_eq "payload names the DSN's own row" \
    "$(q "SELECT id FROM postinbox.message WHERE queue_id = '$(qid_of "$r")' AND inbox_id = '$SENDER_ID'")" \
    "$(echo "$P" | json_get reportMessageId)"
t_eq "bounceCount 2" 2 "$(bounces)"
t_eq "the original's status is bounced" bounced "$(q "SELECT status FROM postinbox.message WHERE message_id_header = '<b2@test>' AND direction = 'outbound'")"
pi_start_policyd
# A later bounce seen in the log proves the follower has read past Q2's line.
send_from "$SENDER" b2b@test bad3@remote.test >/dev/null
if wait_for 20 ge "events_of b2b@test message.bounced" 1; then t_ok "the follower read on past the DSN's bounce"; else t_fail "the follower read on past the DSN's bounce"; fi
t_eq "after the log line too: still one message.bounced" 1 "$(events_of b2@test message.bounced)"
t_eq "after the log line too: bounceCount 3 (2 + the later one)" 3 "$(bounces)"

# ---- 3. accepted by the next hop, bounced later -------------------------------------------------
Q3=$(send_from "$SENDER" orig-exchange-7@example.com frank@contoso.com)
if wait_for 20 ge "events_of orig-exchange-7@example.com message.delivered" 1; then t_ok "handed to the next hop: delivered"; else t_fail "handed to the next hop: delivered"; fi
r=$(feed "$FIX/exchange_dsn.eml")
t_match "Exchange's late DSN is accepted" "^250 " "$r"
t_eq "delivered becomes bounced" bounced "$(rstate orig-exchange-7@example.com frank@contoso.com)"
t_eq "Exchange DSN: message.bounced, 5.1.10" "1 5.1.10" \
    "$(events_of orig-exchange-7@example.com message.bounced) $(payload_of orig-exchange-7@example.com message.bounced | json_get recipients.0.status)"
t_eq "bounceCount 4" 4 "$(bounces)"
pi_stop_policyd     # the rest is about mail only

# ---- 4. bounces in the styles of real MTAs ------------------------------------------------------
# fixture | original Message-ID | recipients | style | permanent bounces expected (qmail's
# erin: relaying denied, exim's gone@: retry timeout exceeded -- neither says the
# address is gone)
while IFS='|' read -r file msgid rcpts style hard; do
    before=$(bounces)
    send_from "$SENDER" "$msgid" "$rcpts" >/dev/null
    r=$(feed "$FIX/$file")
    t_match "$file: accepted" "^250 " "$r"
    t_eq "$file: read as $style, message.bounced on the original" "$style 1" \
        "$(q "SELECT report->>'style' FROM postinbox.message WHERE queue_id = '$(qid_of "$r")' AND inbox_id = '$SENDER_ID'") $(events_of "$msgid" message.bounced)"
    t_eq "$file: bounceCount +$hard" "$((before + hard))" "$(bounces)"
done <<'EOF'
gmail_dsn.eml|orig-gmail-12@example.com|judy@gmail.com|rfc3464|1
qmail_bounce.eml|orig-qmail-6@example.com|dave@example.net,erin@example.net|qmail|1
exim_text.eml|orig-exim-text-5@example.com|gone@example.org,also-gone@example.org|exim|1
yahoo_bounce.eml|orig-yahoo-10@example.com|ivan@yahoo.com|yahoo|1
gmail_text.eml|orig-gmail-9@example.com|heidi@example.net|gmail|1
sendmail_text.eml|orig-sendmail-text-14@example.com|oscar@old.example.net|sendmail|1
EOF
# The same bounce again: nothing new.
before=$(bounces)
r=$(feed "$FIX/gmail_dsn.eml")
t_eq "a repeated DSN counts nothing and adds no message.bounced" "$before 1" "$(bounces) $(events_of orig-gmail-12@example.com message.bounced)"

# Hard bounces by mail suppress the recipient like those in the log.
t_match "a DSN's hard bounce puts the recipient on the suppression list" "judy@gmail.com" \
    "$(pi_ctl suppression list "$SENDER")"
r=$(smtp_send "${AUTH[@]}" --from "$SENDER" --to judy@gmail.com)
t_match "the next send to it is refused at RCPT" "^550 5\.1\.1 .*suppression" "$r"

# ---- 5. delay warnings ---------------------------------------------------------------------------
send_from "$SENDER" orig-delayed-2@example.com slow@example.net >/dev/null
r=$(feed "$FIX/postfix_delayed.eml")
t_eq "a delay warning is message.deferred, type soft, nothing counted" "1 soft $before" \
    "$(events_of orig-delayed-2@example.com message.deferred) $(payload_of orig-delayed-2@example.com message.deferred | json_get recipients.0.type) $(bounces)"
t_eq "the recipient is deferred" deferred "$(rstate orig-delayed-2@example.com slow@example.net)"

# ---- 6. complaints (ARF) -------------------------------------------------------------------
ARFID=8787KJKJ3K4J3K4J3K4J3.mail@example.net
send_from "$SENDER" "$ARFID" user@example.com >/dev/null
r=$(feed "$FIX/arf_abuse.eml")
t_match "an ARF report is accepted" "^250 " "$r"
P=$(payload_of "$ARFID" message.complained)
t_eq "message.complained on the original: feedbackType, recipient, matched, counted" "abuse user@example.com true true" \
    "$(for k in feedbackType recipient matched counted; do echo "$P" | json_get $k; done | xargs)"
t_eq "complaintCount 1, the recipient suppressed (complaint)" "1 complaint" \
    "$(q "SELECT complaint_count FROM postinbox.inbox WHERE id = '$SENDER_ID'") $(q "SELECT source FROM postinbox.suppression WHERE inbox_id = '$SENDER_ID' AND address = 'user@example.com'")"
r=$(feed "$FIX/arf_abuse.eml")
t_eq "the same report again: complaintCount 1, one message.complained" "1 1" \
    "$(q "SELECT complaint_count FROM postinbox.inbox WHERE id = '$SENDER_ID'") $(events_of "$ARFID" message.complained)"

# ---- 7. a DSN about mail this inbox never sent -----------------------------------------------------
send_from "$OTHER" orig-exim-4@example.com nosuchuser@example.org >/dev/null   # OTHER sent it, not SENDER
before=$(bounces)
r=$(feed "$FIX/exim_bounce.eml")
QU=$(qid_of "$r")
t_eq "unmatched DSN: message.bounced on its own row, matched false, nothing counted" "message.bounced false $before" \
    "$(q "SELECT e.type, e.payload->>'matched' FROM postinbox.event e JOIN postinbox.message m ON m.id = e.message_id
           WHERE m.queue_id = '$QU' AND m.inbox_id = '$SENDER_ID' AND e.type <> 'message.parsed'" | tr '|' ' ') $(bounces)"
t_eq "the other inbox's message with that Message-ID is untouched" "0 0 sent" \
    "$(bounces "$OTHER_ID") $(events_of orig-exim-4@example.com message.bounced) $(q "SELECT status FROM postinbox.message WHERE inbox_id = '$OTHER_ID' AND message_id_header = '<orig-exim-4@example.com>'")"

# ---- 8. broken reports ------------------------------------------------------------------------------
for f in broken_binary.eml broken_no_boundary.eml broken_garbage_status.eml broken_truncated.eml broken_nul_utf8.eml; do
    r=$(feed "$FIX/$f")
    Q=$(qid_of "$r")
    t_match "$f: accepted" "^250 " "$r"
    t_eq "$f: one inbound row with two events (received or unmatched bounce, parsed)" "1 2" \
        "$(q "SELECT count(DISTINCT m.id), count(e.id) FROM postinbox.message m JOIN postinbox.event e ON e.message_id = m.id
               WHERE m.queue_id = '${Q:-none}' AND m.inbox_id = '$SENDER_ID'" | tr '|' ' ')"
done
kill -0 "$(pi_milter_pid)" 2>/dev/null && t_ok "the milter survived every report" || t_fail "the milter survived every report"

# ---- 9. over parse_max_size -------------------------------------------------------------------------
big=$SVC_DIR/big.eml
{ printf 'From: someone@remote.test\r\nSubject: big\r\nMessage-Id: <big@test>\r\n\r\n'
  head -c 300000 /dev/zero | tr '\0' 'x' | fold -w 76; } > "$big"
r=$(smtp_send --from someone@remote.test --to "$SENDER" --data "$big")
t_match "a message over parse_max_size is accepted" "^250 " "$r"
t_eq "recorded with contentTruncated, both events say so" "t message.parsed true message.received" \
    "$(q "SELECT m.content_truncated, string_agg(e.type || coalesce(' ' || (e.payload->>'contentTruncated'), ''), ' ' ORDER BY e.type)
           FROM postinbox.message m JOIN postinbox.event e ON e.message_id = m.id
           WHERE m.queue_id = '$(qid_of "$r")' AND m.inbox_id = '$SENDER_ID' GROUP BY 1" | tr '|' ' ')"

# ---- 10. a bounce by mail can suspend the inbox ------------------------------------------------
printf '%s\n' "suspend_min_sends = 4" "suspend_bounce_rate = 25%" >> "$PI_CONF"
kill -USR1 "$(pi_milter_pid)"
sleep 1
read -r RISKY_ID RISKY <<<"$(pi_inbox "$A" risky --daily-limit 1000 --burst-limit 1000)"
pi_ctl login grant --login alice@example.test --inbox "$RISKY" >/dev/null
for i in 1 2 3; do send_from "$RISKY" "risky-$i@test" "friend$i@remote.test" >/dev/null; done
sed -e "s/orig-gmail-12@example.com/risky-1@test/; s/judy@gmail.com/friend1@remote.test/g" "$FIX/gmail_dsn.eml" > "$SVC_DIR/risky.eml"
feed "$SVC_DIR/risky.eml" "$RISKY" >/dev/null
t_eq "one bounce in 3 sends: below suspend_min_sends, still active" "active 1" \
    "$(q "SELECT status, bounce_count FROM postinbox.inbox WHERE id = '$RISKY_ID'" | tr '|' ' ')"
send_from "$RISKY" risky-4@test friend4@remote.test >/dev/null
sed -e "s/orig-gmail-12@example.com/risky-2@test/; s/judy@gmail.com/friend2@remote.test/g" "$FIX/gmail_dsn.eml" > "$SVC_DIR/risky.eml"
feed "$SVC_DIR/risky.eml" "$RISKY" >/dev/null
t_eq "two bounces in 4 sends (50% >= 25%): suspended by the DSN, audited, one inbox.suspended" "suspended 1 1" \
    "$(q "SELECT status FROM postinbox.inbox WHERE id = '$RISKY_ID'") $(q "SELECT count(*) FROM postinbox.audit WHERE inbox_id = '$RISKY_ID' AND new_value = 'suspended' AND actor = 'postinbox'") $(q "SELECT count(*) FROM postinbox.event WHERE inbox_id = '$RISKY_ID' AND type = 'inbox.suspended'")"
r=$(smtp_send "${AUTH[@]}" --from "$RISKY" --to friend5@remote.test)
t_match "the suspended inbox may not send" "^5[0-9][0-9] " "$r"

# ---- 11. parsed content: bodies, reply, attachments --------------------------------------------
head -c 50000 /dev/urandom > "$SVC_DIR/report.pdf"
SHA=$(sha256sum "$SVC_DIR/report.pdf" | cut -d' ' -f1)
python3 - "$SVC_DIR/report.pdf" > "$SVC_DIR/parsed.eml" <<'PY'
import sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "Zoë <zoe@remote.test>"
m["Subject"] = "Re: the plan"
m["Message-ID"] = "<parsed-1@remote.test>"
m.set_content("Sounds good, ship it.\n\nOn Mon, 2 Nov 2026 at 10:00, Bob <bob@example.com> wrote:\n> Shall we ship?\n> -- Bob\n", charset="iso-8859-1", cte="quoted-printable")
m.add_alternative("<p>Sounds <b>good</b>, ship it. Cr\u00e8me br\u00fbl\u00e9e.</p>", subtype="html")
m.add_attachment(open(sys.argv[1], "rb").read(), maintype="application", subtype="pdf", filename="Bericht \u00fcber 2026.pdf")
sys.stdout.write(m.as_string())
PY
r=$(smtp_send --from zoe@remote.test --to "$SENDER" --data "$SVC_DIR/parsed.eml")
t_match "a multipart message is accepted" "^250 " "$r"
QP=$(qid_of "$r")
P=$(q "SELECT e.payload FROM postinbox.event e JOIN postinbox.message m ON m.id = e.message_id
        WHERE m.queue_id = '$QP' AND m.inbox_id = '$SENDER_ID' AND e.type = 'message.parsed'")
t_eq "message.parsed after message.received" "message.received message.parsed" \
    "$(q "SELECT string_agg(e.type, ' ' ORDER BY e.created_at, e.type DESC) FROM postinbox.event e JOIN postinbox.message m
           ON m.id = e.message_id WHERE m.queue_id = '$QP' AND m.inbox_id = '$SENDER_ID'")"
t_match "parsed text, decoded from ISO-8859-1 quoted-printable" "^Sounds good, ship it." "$(echo "$P" | json_get text)"
t_eq "the reply extract drops the quoted history" "Sounds good, ship it." "$(echo "$P" | json_get reply)"
t_match "parsed html, UTF-8" "Crème brûlée" "$(echo "$P" | json_get html)"
t_eq "attachment: name, type, size, sha256 of the decoded bytes" \
    "Bericht über 2026.pdf application/pdf 50000 $SHA" \
    "$(echo "$P" | json_get attachments.0.filename) $(echo "$P" | json_get attachments.0.contentType) $(echo "$P" | json_get attachments.0.size) $(echo "$P" | json_get attachments.0.sha256)"
t_eq "the row keeps the bodies, attachments and a preview" "t t 1 Sounds good, ship it. Sounds good, ship it." \
    "$(q "SELECT text_body LIKE 'Sounds good%', html_body LIKE '<p>%', jsonb_array_length(attachments), reply_text, preview
           FROM postinbox.message WHERE queue_id = '$QP' AND inbox_id = '$SENDER_ID'" | tr '|' ' ')"
# Broken MIME is still recorded, with its defects counted.
for f in broken_truncated.eml broken_no_boundary.eml broken_base64.eml broken_nul.eml broken_unclosed.eml broken_unknown_charset.eml headers_only.eml; do
    [ -f "$PI_SRCDIR/tests/fixtures/mime/$f" ] || { t_fail "fixture $f exists"; continue; }
    r=$(smtp_send --from someone@remote.test --to "$SENDER" --data "$PI_SRCDIR/tests/fixtures/mime/$f")
    Q=$(qid_of "$r")
    t_eq "$f: recorded, received + parsed" "message.parsed message.received" \
        "$(q "SELECT string_agg(e.type, ' ' ORDER BY e.type) FROM postinbox.event e JOIN postinbox.message m
               ON m.id = e.message_id WHERE m.queue_id = '${Q:-none}' AND m.inbox_id = '$SENDER_ID'")"
done
t_eq "defects counted on a truncated multipart" t \
    "$(q "SELECT parse_defects > 0 FROM postinbox.message WHERE inbox_id = '$SENDER_ID' AND subject ILIKE '%truncat%' ORDER BY created_at DESC LIMIT 1")"
# Outbound mail is not parsed.
send_from "$SENDER" out-1@test friend@remote.test >/dev/null
t_eq "outbound rows carry no parsed content and no message.parsed" "0 0" \
    "$(q "SELECT count(*) FILTER (WHERE text_body IS NOT NULL), (SELECT count(*) FROM postinbox.event e JOIN postinbox.message m2
           ON m2.id = e.message_id WHERE m2.direction = 'outbound' AND e.type = 'message.parsed')
           FROM postinbox.message WHERE direction = 'outbound'" | tr '|' ' ')"

t_summary
