#!/usr/bin/env bash
# test-timeout: 900
# t_e2e_inputs.sh -- inputs a mail admin meets, end to end through Postfix +
# postinbox-milter: SMTP PIPELINING (MAIL, RCPTs and DATA in one write:
# replies in order, the cap exact, refused recipients not charged); one
# message to 100 inboxes, to 100 and 1,000 remote recipients and one over
# Postfix's smtpd_recipient_limit (the daily cap counts recipients: a cap of
# 150 takes 100 then 50 of the next 100, the rest 451 4.7.1); SMTPUTF8 with
# smtputf8_enable = yes: a UTF-8 local part, an IDN domain as A-labels and as
# U-labels (one address: the milter converts to A-labels), a UTF-8 sender,
# an outbound U-label recipient, and what is refused (IDNA-invalid domain:
# 553 5.1.3; no SMTPUTF8 or bad UTF-8: Postfix's own 501/500).  The log
# follower records every recipient's delivery (message_recipient), the
# 1,000 of one message and those Postfix logs in UTF-8.
set -u
. "$(dirname "$0")/common.sh"
pi_init --policyd
# The log follower (postinbox-policyd) records each recipient's delivery
# (the discard transport logs status=sent) in message_recipient.
pi_setup "postfix_log = $SVC_DIR/postfix/maillog" "postfix_log_state = $SVC_DIR/postfix_log.state"
pi_start_policyd || exit 1
SS=$PI_TESTDIR/smtp_session.py
A=$(pi_account "Acme" acme)
read -r BOB_ID BOB <<<"$(pi_inbox "$A" bob --daily-limit 1000 --burst-limit 1000)"
read -r PIPE_ID PIPE <<<"$(pi_inbox "$A" pipe --daily-limit 2 --burst-limit 1000)"
read -r CAP_ID CAP <<<"$(pi_inbox "$A" cap --daily-limit 150 --burst-limit 1000)"
read -r BIG_ID BIG <<<"$(pi_inbox "$A" big --daily-limit 5000 --burst-limit 5000)"
read -r OFF_ID OFF <<<"$(pi_inbox "$A" off)"
pi_ctl inbox disable "$OFF_ID" >/dev/null
for ib in "$BOB" "$PIPE" "$CAP" "$BIG"; do pi_ctl login grant --login alice@example.test --inbox "$ib" >/dev/null; done
pi_ctl suppression add "$PIPE" --address blocked@remote.test >/dev/null
session() { python3 "$SS" "$SMTP_PORT" "$@" | grep -v '^greeting \|^QUIT '; }
strip_ms() { sed 's/ ms=[0-9]*$//'; }
# replies WORD OUTPUT: the codes of WORD's replies, in order, space separated
replies() { awk -v w="$1" '$1 == w { printf "%s%s", sep, $2; sep = " " }' <<<"$2"; }
qid_of() { sed -n 's/.*queued as \([0-9A-F]*\).*/\1/p' <<<"$1" | tail -n 1; }
# delivered QID N: waits (30 s at most) for N delivered rows in message_recipient; prints the count
delivered() {
    local v
    for _ in $(seq 1 150); do
        v=$(svc_psql "SELECT count(*) FROM postinbox.message_recipient r JOIN postinbox.message m ON m.id = r.message_id
                      WHERE m.queue_id = '$1' AND r.state = 'delivered'")
        [ "$v" = "$2" ] && break
        sleep 0.2
    done
    echo "$v"
}
rcpts_of_qid() { svc_psql "SELECT coalesce(sum(cardinality(envelope_to)), 0) || ' ' || count(*) FROM postinbox.message WHERE queue_id = '$1' AND direction = '$2'"; }

# --- 4. PIPELINING ------------------------------------------------------------------------
out=$(session "EHLO client.test" "AUTH alice@example.test secret" \
    "PIPE MAIL FROM:<$PIPE>|RCPT TO:<p1@remote.test>|RCPT TO:<blocked@remote.test>|RCPT TO:<p2@remote.test>|RCPT TO:<p3@remote.test>|DATA" \
    "BODY Subject: pipelined\n\nhello" \
    "PIPE RSET|MAIL FROM:<$PIPE>|RCPT TO:<p4@remote.test>|DATA" "QUIT")
t_match "pipelining: Postfix offers PIPELINING" "PIPELINING" "$(grep '^EHLO ' <<<"$out")"
t_eq "pipelining: MAIL, 4 RCPTs and DATA in one write, replies in order (ok, suppressed, ok, daily cap, 354)" \
    "MAIL 250|RCPT 250|RCPT 550 5.1.1|RCPT 250|RCPT 451 4.7.1|DATA 354" \
    "$(sed -n '/^MAIL /,/^DATA /p' <<<"$out" | head -n 6 | awk '{ print $1, $2 ($3 ~ /^[45]\./ ? " " $3 : "") }' | paste -sd'|')"
t_match "pipelining: the suppressed recipient's reply names it" \
    "^RCPT 550 5\.1\.1 recipient <blocked@remote\.test> is on the suppression list of $PIPE: added by an administrator" \
    "$(grep '^RCPT 550' <<<"$out" | strip_ms)"
t_match "pipelining: the one over the cap is told when it resets" \
    "^RCPT 451 4\.7\.1 inbox $PIPE reached its daily send limit, resets at 20[0-9-]*T00:00:00Z" \
    "$(grep '^RCPT 451' <<<"$out" | strip_ms)"
r=$(grep '^BODY ' <<<"$out" | head -n 1)
t_match "pipelining: the message is queued" '^BODY 250 ' "$r"
t_eq "pipelining: recorded once with the 2 accepted recipients" "2 1" "$(rcpts_of_qid "$(qid_of "$r")" outbound)"
t_eq "pipelining: recorded as p1 and p2 (refused recipients are not in the row)" "{p1@remote.test,p2@remote.test}" \
    "$(svc_psql "SELECT envelope_to FROM postinbox.message WHERE queue_id = '$(qid_of "$r")'")"
t_eq "pipelining: second transaction in the same session (RSET MAIL RCPT DATA): cap reached, no valid recipients" \
    "250 250 451 554" "$(sed -n '/^RSET /,$p' <<<"$out" | awk '{ printf "%s%s", sep, $2; sep = " " }')"
t_eq "pipelining: sendsToday is exactly the cap (2): refused recipients charged nothing" 2 "$(pi_sends_today "$PIPE_ID")"
out=$(session "EHLO client.test" \
    "PIPE MAIL FROM:<ext@remote.test>|RCPT TO:<$BOB>|RCPT TO:<nosuch--acme@$SANDBOX>|RCPT TO:<$OFF>|RCPT TO:<$BOB>|DATA" \
    "BODY Subject: pipelined inbound\n\nhello" "QUIT")
t_eq "pipelining inbound: replies in order (inbox, unknown 550 5.1.1, disabled 550 5.2.1, duplicate, 354)" \
    "MAIL 250|RCPT 250|RCPT 550 5.1.1|RCPT 550 5.2.1|RCPT 250|DATA 354" \
    "$(sed -n '/^MAIL /,/^DATA /p' <<<"$out" | awk '{ print $1, $2 ($3 ~ /^[45]\./ ? " " $3 : "") }' | paste -sd'|')"
r=$(grep '^BODY ' <<<"$out")
t_eq "pipelining inbound: recorded once, in bob's inbox only" "1 $BOB_ID" \
    "$(svc_psql "SELECT count(*), min(inbox_id::text) FROM postinbox.message WHERE queue_id = '$(qid_of "$r")'" | tr '|' ' ')"

# --- 5. many recipients ---------------------------------------------------------------------
t_eq "Postfix's smtpd_recipient_limit is its default, 1000" 1000 "$(svc_postconf -h smtpd_recipient_limit)"
# rcpt_pipe N FIRST: "RCPT TO:<rFIRST@remote.test>|..." for N recipients
rcpt_pipe() { local i s=; for ((i = $2; i < $2 + $1; i++)); do s+="|RCPT TO:<r$i@remote.test>"; done; printf '%s' "$s"; }
# outbound 100 then 100 more with a daily cap of 150
out=$(session "EHLO client.test" "AUTH alice@example.test secret" "PIPE MAIL FROM:<$CAP>$(rcpt_pipe 100 1)|DATA" \
    "BODY Subject: hundred\n\nhello" "QUIT")
t_eq "100 recipients, cap 150: every RCPT 250" "100" "$(grep -c '^RCPT 250 ' <<<"$out")"
r=$(grep '^BODY ' <<<"$out")
t_eq "100 recipients: queued, one row with 100 recipients" "250 100 1" \
    "$(awk '{print $2}' <<<"$r") $(rcpts_of_qid "$(qid_of "$r")" outbound)"
t_eq "100 recipients: sendsToday 100" 100 "$(pi_sends_today "$CAP_ID")"
out=$(session "EHLO client.test" "AUTH alice@example.test secret" "PIPE MAIL FROM:<$CAP>$(rcpt_pipe 100 101)|DATA" \
    "BODY Subject: hundred more\n\nhello" "QUIT")
t_eq "next 100 recipients: the first 50 get 250" 50 "$(sed -n '/^RCPT /p' <<<"$out" | head -n 50 | grep -c '^RCPT 250 ')"
t_eq "next 100 recipients: the other 50 get 451 4.7.1 (daily cap)" 50 \
    "$(sed -n '/^RCPT /p' <<<"$out" | tail -n 50 | grep -c '^RCPT 451 4\.7\.1 ')"
r=$(grep '^BODY ' <<<"$out")
t_eq "next 100: the message goes to the 50 accepted (one row with 50 recipients)" "250 50 1" \
    "$(awk '{print $2}' <<<"$r") $(rcpts_of_qid "$(qid_of "$r")" outbound)"
t_eq "cap 150: sendsToday is exactly 150" 150 "$(pi_sends_today "$CAP_ID")"
# outbound to 1,001 remote recipients: Postfix takes 1,000
out=$(session "EHLO client.test" "AUTH alice@example.test secret" "PIPE MAIL FROM:<$BIG>$(rcpt_pipe 1001 1)|DATA" \
    "BODY Subject: thousand\n\nhello" "QUIT")
t_eq "1,001 recipients: 1,000 RCPT 250" 1000 "$(grep -c '^RCPT 250 ' <<<"$out")"
t_eq "1,001 recipients: the 1,001st gets Postfix's 452 4.5.3 too many recipients" \
    "RCPT 452 4.5.3 Error: too many recipients" "$(sed -n '/^RCPT /p' <<<"$out" | tail -n 1 | strip_ms)"
r=$(grep '^BODY ' <<<"$out")
t_eq "1,000 recipients: queued, one row with 1,000 recipients, one message.sent" "250 1000 1 1" \
    "$(awk '{print $2}' <<<"$r") $(rcpts_of_qid "$(qid_of "$r")" outbound) $(svc_psql "SELECT count(*) FROM postinbox.event e JOIN postinbox.message m ON m.id = e.message_id WHERE m.queue_id = '$(qid_of "$r")' AND e.type = 'message.sent'")"
t_eq "1,000 recipients: sendsToday 1000 (the refused one is not charged)" 1000 "$(pi_sends_today "$BIG_ID")"
t_eq "1,000 recipients: the log follower records 1,000 deliveries" 1000 "$(delivered "$(qid_of "$r")" 1000)"
# inbound to 100 inboxes
pi_ctl domain add --account "$A" --name many.test --verified >/dev/null
t_eq "100 inboxes on many.test" 100 "$(svc_psql "SELECT count(*) FROM generate_series(1, 100) g,
    LATERAL postinbox.inbox_create('$A', NULL, 'many.test', 'm' || g, NULL, NULL, NULL, NULL, '$SANDBOX') r
    WHERE r.result = 'ok'")"
many=
for i in $(seq 1 100); do many+="|RCPT TO:<m$i@many.test>"; done
out=$(session "EHLO client.test" "PIPE MAIL FROM:<ext@remote.test>$many|DATA" "BODY Subject: to a hundred inboxes\n\nhello" "QUIT")
t_eq "inbound to 100 inboxes: every RCPT 250" 100 "$(grep -c '^RCPT 250 ' <<<"$out")"
r=$(grep '^BODY ' <<<"$out")
t_match "inbound to 100 inboxes: queued" '^BODY 250 ' "$r"
t_eq "inbound to 100 inboxes: one row in each of the 100 inboxes, 200 events (received + parsed)" "100 100 200" \
    "$(svc_psql "SELECT count(*), count(DISTINCT m.inbox_id), (SELECT count(*) FROM postinbox.event e
                   JOIN postinbox.message m2 ON m2.id = e.message_id WHERE m2.queue_id = '$(qid_of "$r")')
                   FROM postinbox.message m WHERE m.queue_id = '$(qid_of "$r")'" | tr '|' ' ')"

# --- 6. SMTPUTF8 and IDN ----------------------------------------------------------------------
svc_postconf -e "smtputf8_enable = yes" && svc_postfix_reload
pi_ctl domain add --account "$A" --name xn--bcher-kva.test --verified >/dev/null
read -r INFO_ID INFO <<<"$(pi_inbox "$A" info --domain xn--bcher-kva.test)"
t_eq "an inbox on an IDN domain is named with A-labels" "info@xn--bcher-kva.test" "$INFO"
t_match "Postfix offers SMTPUTF8" "SMTPUTF8" "$(session "EHLO client.test" "QUIT")"
in_utf8() {  # in_utf8 SENDER RCPT SUBJECT: an inbound SMTPUTF8 message; prints the MAIL/RCPT/BODY replies
    session "EHLO client.test" "MAIL FROM:<$1> SMTPUTF8" "RCPT TO:<$2>" "DATA" "BODY Subject: $3\n\nhello" "QUIT" |
        grep -v '^EHLO ' | strip_ms
}
inbox_rows() { svc_psql "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$1' AND subject = '$2'"; }
out=$(in_utf8 ext@remote.test "info@xn--bcher-kva.test" "idn a-label")
t_eq "IDN domain as A-labels: 250 at every stage" "250 250 354 250" "$(awk '{printf "%s%s", sep, $2; sep=" "}' <<<"$out")"
t_eq "IDN domain as A-labels: recorded in the inbox" 1 "$(inbox_rows "$INFO_ID" "idn a-label")"
out=$(in_utf8 ext@remote.test "info@bücher.test" "idn u-label")
t_eq "IDN domain as U-labels (info@bücher.test): the same inbox, 250" "250 250 354 250" \
    "$(awk '{printf "%s%s", sep, $2; sep=" "}' <<<"$out")"
t_eq "IDN domain as U-labels: recorded in the same inbox" 1 "$(inbox_rows "$INFO_ID" "idn u-label")"
out=$(in_utf8 ext@remote.test "Info@BÜCHER.test" "idn u-label upper")
t_eq "IDN domain as upper-case U-labels (Info@BÜCHER.test): the same inbox" "1 250" \
    "$(inbox_rows "$INFO_ID" "idn u-label upper") $(grep '^BODY ' <<<"$out" | awk '{print $2}')"
t_eq "a UTF-8 local part on an inbox domain names no inbox (inbox names are ASCII): 550 5.1.1" \
    "RCPT 550 5.1.1 no such inbox jörg@xn--bcher-kva.test" \
    "$(session "EHLO client.test" "MAIL FROM:<ext@remote.test> SMTPUTF8" "RCPT TO:<jörg@bücher.test>" "QUIT" | grep '^RCPT ' | strip_ms)"
out=$(in_utf8 "jörg@müller.test" "$BOB" "utf8 sender")
t_eq "a UTF-8 sender with a U-label domain: 250" "250 250 354 250" "$(awk '{printf "%s%s", sep, $2; sep=" "}' <<<"$out")"
t_eq "a UTF-8 sender: recorded with its address (local part as sent, domain as A-labels)" "jörg@xn--mller-kva.test" \
    "$(svc_psql "SELECT envelope_from FROM postinbox.message WHERE subject = 'utf8 sender'")"
before=$(pi_sends_today "$BOB_ID")
out=$(session "EHLO client.test" "AUTH alice@example.test secret" "MAIL FROM:<$BOB> SMTPUTF8" "RCPT TO:<kunde@bücher.example>" \
    "RCPT TO:<kündin@remote.test>" "DATA" "BODY Subject: utf8 outbound\n\nhello" "QUIT" | grep -v '^EHLO ' | strip_ms)
t_eq "outbound to a U-label domain and a UTF-8 local part: 250 at every stage" "235 250 250 250 354 250" \
    "$(awk '{printf "%s%s", sep, $2; sep=" "}' <<<"$out")"
t_eq "outbound UTF-8: recorded with both recipients" "{kunde@xn--bcher-kva.example,kündin@remote.test}" \
    "$(svc_psql "SELECT envelope_to FROM postinbox.message WHERE subject = 'utf8 outbound'")"
t_eq "outbound UTF-8: both recipients charged" $((before + 2)) "$(pi_sends_today "$BOB_ID")"
r=$(grep '^BODY ' <<<"$out")
t_eq "outbound UTF-8: the log follower records both deliveries, Postfix's UTF-8 spelling matched" \
    "2 kunde@xn--bcher-kva.example kündin@remote.test" \
    "$(delivered "$(qid_of "$r")" 2) $(svc_psql "SELECT string_agg(r.address, ' ' ORDER BY r.address) FROM postinbox.message_recipient r
        JOIN postinbox.message m ON m.id = r.message_id WHERE m.queue_id = '$(qid_of "$r")'")"
t_eq "a domain IDNA2008 refuses (a symbol, ☃.test): the milter's 553 5.1.3" "RCPT 553 5.1.3 malformed address" \
    "$(session "EHLO client.test" "MAIL FROM:<ext@remote.test> SMTPUTF8" "RCPT TO:<a@☃.test>" "QUIT" | grep '^RCPT ' | strip_ms)"
t_eq "a U-label address without SMTPUTF8: Postfix's 501 5.1.3" "RCPT 501 5.1.3 Bad recipient address syntax" \
    "$(session "EHLO client.test" "MAIL FROM:<ext@remote.test>" "RCPT TO:<info@bücher.test>" "QUIT" | grep '^RCPT ' | strip_ms)"
t_eq "invalid UTF-8 with SMTPUTF8: Postfix's 500 5.5.2" "RCPT 500 5.5.2 Error: bad UTF-8 syntax" \
    "$(session "EHLO client.test" "MAIL FROM:<ext@remote.test> SMTPUTF8" $'RCPT TO:<j\xf6rg@xn--bcher-kva.test>' "QUIT" |
        grep '^RCPT ' | strip_ms)"
t_eq "nothing else was recorded in the IDN inbox" 3 "$(svc_psql "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$INFO_ID'")"

# --- a big message does not leave its buffers in the pool ------------------
# libpq keeps a connection's buffers at the largest message it carried, so
# the milter closes a pooled connection after a call of more than 128 KiB
# (PGCONN_BULKY_BYTES) instead of keeping it.  Seen from outside: the
# milter's own TCP connections to PostgreSQL (local ports).
milter_pg_ports() {
    ss -tnpH state established "( dport = :$PG_PORT )" | grep "pid=$(pi_milter_pid)," | awk '{print $3}' | sort
}
gone_after() {   # gone_after FILE: how many of the connections before are gone
    local before=$1 now
    now=$(milter_pg_ports)
    comm -23 <(sort "$before") <(printf '%s\n' "$now" | sort) | grep -c .
}
big_msg() {   # big_msg FILE KB SUBJECT
    python3 - "$@" "$BOB" <<'PY'
import sys
path, kb, subject, to = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
with open(path, "wb") as f:
    f.write(b"From: ext@remote.test\r\nTo: %s\r\nSubject: %s\r\n\r\n" % (to.encode(), subject.encode()))
    line = b"x" * 76 + b"\r\n"
    for _ in range(kb * 1024 // len(line)):
        f.write(line)
PY
}
D=$SVC_DIR/data; mkdir -p "$D"
big_msg "$D/small" 2 "pool small"
big_msg "$D/big" 400 "pool big"
smtp_send --from ext@remote.test --to "$BOB" --data "@$D/small" >/dev/null   # warm the pool
milter_pg_ports >"$D/ports.0"
t_match "pool: the milter holds pooled connections to PostgreSQL" '[0-9]' "$(wc -l <"$D/ports.0")"
r=$(smtp_send --from ext@remote.test --to "$BOB" --data "@$D/small")
t_match "pool: a 2 KB message is accepted" '^250 ' "$r"
t_eq "pool: after a 2 KB message every pooled connection is kept" 0 "$(gone_after "$D/ports.0")"
milter_pg_ports >"$D/ports.1"
r=$(smtp_send --from ext@remote.test --to "$BOB" --data "@$D/big")
t_match "pool: a 400 KB message is accepted" '^250 ' "$r"
t_eq "pool: recorded once, with its size" "1|t" \
    "$(svc_psql "SELECT count(*), bool_and(size > 400000) FROM postinbox.message WHERE subject = 'pool big'")"
t_eq "pool: the connection that carried the 400 KB record was closed, not kept" 1 "$(gone_after "$D/ports.1")"
r=$(smtp_send --from ext@remote.test --to "$BOB" --data "@$D/small")
t_match "pool: the next message is accepted (a fresh connection)" '^250 ' "$r"
t_eq "pool: and recorded" 3 "$(svc_psql "SELECT count(*) FROM postinbox.message WHERE subject = 'pool small'")"

kill -0 "$(pi_milter_pid)" && t_ok "the milter survived every input" || t_fail "the milter survived every input"
pi_stop_policyd
t_summary
