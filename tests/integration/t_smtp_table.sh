#!/usr/bin/env bash
# t_smtp_table.sh -- what the milter leaves for the mail of the SMTP table
# (DESIGN.md), through a real Postfix with the milter in smtpd_milters,
# real PostgreSQL and Redis: the message rows, the events and the decision
# log lines.  The replies themselves, row by row for both front doors, are
# smtp_table.tsv, run by t_smtp_doors.sh.
set -u
. "$(dirname "$0")/common.sh"
pi_setup

A=$(pi_account "Acme" acme)
B=$(pi_account "Beta" beta)
pi_ctl domain add --account "$A" --name acme.test --verified >/dev/null
read -r BOB_ID BOB <<<"$(pi_inbox "$A" bob --display-name "Bob" --label agents)"
read -r CAROL_ID CAROL <<<"$(pi_inbox "$A" carol)"
read -r DAVE_ID DAVE <<<"$(pi_inbox "$A" dave)"
read -r SALES_ID SALES <<<"$(pi_inbox "$A" sales --domain acme.test)"
read -r EVE_ID EVE <<<"$(pi_inbox "$B" eve)"
pi_ctl inbox disable "$CAROL" --reason "test: disabled" >/dev/null
pi_ctl inbox suspend "$DAVE" --reason "test: suspended" >/dev/null
for ib in "$BOB" "$CAROL" "$DAVE" "$SALES"; do
    pi_ctl login grant --login alice@example.test --inbox "$ib" >/dev/null
done
pi_ctl login grant --login mallory@example.test --inbox "$EVE" >/dev/null

t_eq "sandbox address derived from username and shortId" "bob--acme@$SANDBOX" "$BOB"
t_eq "custom-domain address" "sales@acme.test" "$SALES"

AUTH=(-a PLAIN -au alice@example.test -ap secret)

# --- the mail whose records are checked below ----------------------------------
# (Its replies are rows of smtp_table.tsv.)
smtp_send --from ext@remote.test --to "$BOB" --header "Subject: inbound one" >/dev/null
smtp_send --from ext@remote.test --to "$CAROL" >/dev/null
smtp_send --from ext@remote.test --to "$DAVE" >/dev/null
r=$(smtp_send "${AUTH[@]}" --from "$BOB" --to friend@remote.test \
      --header "Subject: =?utf-8?q?caf=C3=A9_report?=" --header "Message-Id: <out-1@acme.test>" \
      --header "Cc: Someone <cc@remote.test>")
QID_OUT=$(sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p' <<<"$r")
smtp_send "${AUTH[@]}" --from "$CAROL" --to friend@remote.test >/dev/null
smtp_send "${AUTH[@]}" --from "$DAVE" --to friend@remote.test >/dev/null
smtp_send "${AUTH[@]}" --from "$BOB" --to "x1@remote.test,$CAROL,x2@remote.test" >/dev/null
# Inbox to inbox on the same host: outbound row for the sender, inbound for the recipient.
smtp_send "${AUTH[@]}" --from "$BOB" --to "$SALES" --header "Subject: internal" \
    --header "Message-Id: <internal-1@acme.test>" >/dev/null

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
