#!/usr/bin/env bash
# t_smtp_table.sh -- every row of the SMTP table (DESIGN.md), through a
# real Postfix with the milter in smtpd_milters, real PostgreSQL and Redis,
# driven by swaks; then the records and events those messages left.
set -u
. "$(dirname "$0")/common.sh"
pi_setup

A=$(pi_account "Acme" acme)
B=$(pi_account "Beta" beta)
pi_ctl domain add --account "$A" --name acme.test --verified >/dev/null
pi_ctl domain add --account "$A" --name unverified.test >/dev/null
read -r BOB_ID BOB <<<"$(pi_inbox "$A" bob --display-name "Bob" --label agents)"
read -r CAROL_ID CAROL <<<"$(pi_inbox "$A" carol)"
read -r DAVE_ID DAVE <<<"$(pi_inbox "$A" dave)"
read -r SALES_ID SALES <<<"$(pi_inbox "$A" sales --domain acme.test)"
read -r EVE_ID EVE <<<"$(pi_inbox "$B" eve)"
read -r BURSTY_ID BURSTY <<<"$(pi_inbox "$A" bursty --burst-limit 2)"
read -r DAILY_ID DAILY <<<"$(pi_inbox "$A" daily --daily-limit 2)"
pi_ctl inbox disable "$CAROL" --reason "test: disabled" >/dev/null
pi_ctl inbox suspend "$DAVE" --reason "test: suspended" >/dev/null
for ib in "$BOB" "$CAROL" "$DAVE" "$SALES" "$BURSTY" "$DAILY"; do
    pi_ctl login grant --login alice@example.test --inbox "$ib" >/dev/null
done
pi_ctl login grant --login mallory@example.test --inbox "$EVE" >/dev/null

t_eq "sandbox address derived from username and shortId" "bob--acme@$SANDBOX" "$BOB"
t_eq "custom-domain address" "sales@acme.test" "$SALES"

AUTH=(-a PLAIN -au alice@example.test -ap secret)
MAUTH=(-a PLAIN -au mallory@example.test -ap secret)

# --- inbound ---------------------------------------------------------------
r=$(smtp_send --from ext@remote.test --to "$BOB" --header "Subject: inbound one")
t_match "inbound to an active inbox is accepted" '^250 ' "$r"
r=$(smtp_send --from ext@remote.test --to "$CAROL")
t_match "recipient inbox disabled: 550 5.2.1" '^550 5\.2\.1 .*carol--acme' "$r"
r=$(smtp_send --from ext@remote.test --to "$DAVE")
t_match "recipient inbox suspended: 450 4.2.1" '^450 4\.2\.1 .*dave--acme' "$r"
r=$(smtp_send --from ext@remote.test --to "nobody--acme@$SANDBOX")
t_match "unknown on the sandbox domain: 550 5.1.1" '^550 5\.1\.1 ' "$r"
r=$(smtp_send --from ext@remote.test --to "nobody@acme.test")
t_match "unknown on a managed custom domain: 550 5.1.1" '^550 5\.1\.1 .*nobody@acme\.test' "$r"
r=$(smtp_send --from ext@remote.test --to "Sales@ACME.test")
t_match "inbox address matches case-insensitively" '^250 ' "$r"
r=$(smtp_send --from ext@remote.test --to "anyone@unverified.test")
t_match "unverified domain is not managed: untouched" '^250 ' "$r"
r=$(smtp_send --from ext@remote.test --to "someone@elsewhere.test")
t_match "recipient on a foreign domain: untouched" '^250 ' "$r"
# A foreign domain is remembered for foreign_domain_cache (5 s): once it
# becomes ours, unknown addresses there are refused after at most that.
pi_ctl domain add --account "$A" --name elsewhere.test --verified >/dev/null
r=$(smtp_send --from ext@remote.test --to "someone@elsewhere.test")
t_match "domain verified just now: still treated as foreign within the cache TTL" '^250 ' "$r"
sleep 5.2
r=$(smtp_send --from ext@remote.test --to "someone@elsewhere.test")
t_match "after the cache TTL the newly managed domain refuses unknown addresses" '^550 5\.1\.1 ' "$r"
r=$(smtp_send --from "$BOB" --to "someone@elsewhere.test")
t_match "unauthenticated MAIL FROM an inbox (spoof): 550 5.7.1" '^550 5\.7\.1 ' "$r"

# --- outbound ------------------------------------------------------------------
r=$(smtp_send "${AUTH[@]}" --from "$BOB" --to friend@remote.test \
      --header "Subject: =?utf-8?q?caf=C3=A9_report?=" --header "Message-Id: <out-1@acme.test>" \
      --header "Cc: Someone <cc@remote.test>")
t_match "authenticated, granted, active sender: accepted" '^250 ' "$r"
QID_OUT=$(sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p' <<<"$r")
r=$(smtp_send "${MAUTH[@]}" --from "$BOB" --to friend@remote.test)
t_match "login not granted the sender inbox: 553 5.7.1" '^553 5\.7\.1 .*bob--acme' "$r"
r=$(smtp_send "${MAUTH[@]}" --from "stranger@remote.test" --to friend@remote.test)
t_match "authenticated sender that is no inbox: 553 5.7.1" '^553 5\.7\.1 ' "$r"
r=$(smtp_send "${AUTH[@]}" --from "$CAROL" --to friend@remote.test)
t_match "sender inbox disabled: 550 5.7.1" '^550 5\.7\.1 .*disabled' "$r"
r=$(smtp_send "${AUTH[@]}" --from "$DAVE" --to friend@remote.test)
t_match "sender inbox suspended: 550 5.7.1" '^550 5\.7\.1 .*suspended' "$r"

r1=$(smtp_send "${AUTH[@]}" --from "$BURSTY" --to a@remote.test)
r2=$(smtp_send "${AUTH[@]}" --from "$BURSTY" --to b@remote.test)
r3=$(smtp_send "${AUTH[@]}" --from "$BURSTY" --to c@remote.test)
t_match "burst guard: sends within the burst limit pass" '^250 ' "$r1 $r2"
t_match "burst guard: the next send in 60 s is 451 4.7.1 with seconds to wait" \
    '^451 4\.7\.1 .*retry in [0-9]+ s' "$r3"
r1=$(smtp_send "${AUTH[@]}" --from "$DAILY" --to a@remote.test)
r2=$(smtp_send "${AUTH[@]}" --from "$DAILY" --to b@remote.test)
r3=$(smtp_send "${AUTH[@]}" --from "$DAILY" --to c@remote.test)
t_match "daily cap: the sends up to the cap pass" '^250 ' "$r1 $r2"
t_match "daily cap: the next is 451 4.7.1 with the reset time" \
    '^451 4\.7\.1 .*resets at [0-9]{4}-[0-9]{2}-[0-9]{2}T00:00:00Z' "$r3"
t_eq "daily cap: sendsToday equals the cap" 2 "$(pi_sends_today "$DAILY_ID")"

# Several recipients in one transaction: the disabled one is refused, the
# others pass and each accepted one is one send.
before=$(pi_sends_today "$BOB_ID")
r=$(smtp_send "${AUTH[@]}" --from "$BOB" --to "x1@remote.test,$CAROL,x2@remote.test")
t_match "mixed recipients: the disabled one is refused" '^550 5\.2\.1 ' "$r"
t_match "mixed recipients: message accepted for the good ones" 'queued as' "$(cat "$SVC_DIR/swaks.last")"
t_eq "mixed recipients: two accepted recipients are two sends" "$((before + 2))" "$(pi_sends_today "$BOB_ID")"

# Inbox to inbox on the same host: outbound row for the sender, inbound for the recipient.
r=$(smtp_send "${AUTH[@]}" --from "$BOB" --to "$SALES" --header "Subject: internal" \
      --header "Message-Id: <internal-1@acme.test>")
t_match "inbox to inbox: accepted" '^250 ' "$r"

# Trusted networks: mail from 127.0.0.2 is outbound without SASL.
pi_write_conf "trusted_networks = 127.0.0.2/32"
kill -USR1 "$(pi_milter_pid)"
sleep 0.5
r=$(smtp_send --local-interface 127.0.0.2 --from "$BOB" --to tn@remote.test)
t_match "trusted network: sending inbox without SASL is outbound and accepted" '^250 ' "$r"
r=$(smtp_send --local-interface 127.0.0.2 --from "stranger@remote.test" --to tn@remote.test)
t_match "trusted network: sender that is no inbox is refused 553 5.7.1" '^553 5\.7\.1 ' "$r"
r=$(smtp_send --local-interface 127.0.0.1 --from "$BOB" --to tn@remote.test)
t_match "untrusted client still cannot claim an inbox" '^550 5\.7\.1 ' "$r"
grep -q "reloaded" "$(pi_milter_log)" && t_ok "SIGUSR1 reloads the config" || t_fail "SIGUSR1 reloads the config"

# --- records and events --------------------------------------------------------
row=$(svc_psql "SELECT direction, queue_id, message_id_header, subject, cc_header, envelope_from,
                       array_to_string(envelope_to, ','), status, size > 0
                  FROM postinbox.message WHERE inbox_id = '$BOB_ID' AND queue_id = '$QID_OUT'")
t_eq "outbound row: direction, queue id, Message-ID, decoded subject, Cc, envelope, status" \
    "outbound|$QID_OUT|<out-1@acme.test>|café report|Someone <cc@remote.test>|$BOB|friend@remote.test|sent|t" "$row"
ev=$(svc_psql "SELECT e.type, e.payload->>'subject', e.payload->>'address', e.payload->'recipients'->>0
                 FROM postinbox.event e JOIN postinbox.message m ON m.id = e.message_id
                WHERE m.queue_id = '$QID_OUT'")
t_eq "message.sent event with subject, inbox address and recipients" \
    "message.sent|café report|$BOB|friend@remote.test" "$ev"
t_eq "inbound row for the inbound message" "inbound|inbound one|ext@remote.test" \
    "$(svc_psql "SELECT direction, subject, envelope_from FROM postinbox.message WHERE inbox_id = '$BOB_ID' AND direction = 'inbound'")"
t_eq "inbox to inbox: one outbound row (bob) and one inbound row (sales)" "bob--acme@$SANDBOX:outbound,sales@acme.test:inbound" \
    "$(svc_psql "SELECT string_agg(i.address || ':' || m.direction, ',' ORDER BY m.direction DESC)
                   FROM postinbox.message m JOIN postinbox.inbox i ON i.id = m.inbox_id
                  WHERE m.message_id_header = '<internal-1@acme.test>'")"
t_eq "message.received event for the recipient inbox" "1" \
    "$(svc_psql "SELECT count(*) FROM postinbox.event WHERE inbox_id = '$SALES_ID' AND type = 'message.received'
                   AND payload->>'messageIdHeader' = '<internal-1@acme.test>'")"
t_eq "rejected mail left no rows" "0" \
    "$(svc_psql "SELECT count(*) FROM postinbox.message WHERE inbox_id IN ('$CAROL_ID', '$DAVE_ID')")"
t_eq "totalSent counts accepted recipients" "$(svc_psql "SELECT count(*) FROM postinbox.message m, unnest(m.envelope_to) WHERE m.inbox_id = '$BOB_ID' AND direction = 'outbound'")" \
    "$(pi_ctl --json inbox show "$BOB_ID" | json_get totalSent)"
t_eq "inbox B saw nothing of inbox A's mail" "0" \
    "$(svc_psql "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$EVE_ID'")"

# The milter logs one key=value line per decision, queue id first.
t_match "decision log line: queue id first, key=value" \
    "$QID_OUT: stage=eom direction=outbound sender=<$BOB> login=alice@example.test inbox=$BOB action=accept" "$(cat "$(pi_milter_log)")"
t_match "reject logged with reason" 'stage=rcpt direction=inbound sender=<[^>]+> rcpt=<carol--acme@sandbox\.test> inbox=carol--acme@sandbox\.test action=reject reason=disabled us=[0-9]+' \
    "$(cat "$(pi_milter_log)")"

t_summary
