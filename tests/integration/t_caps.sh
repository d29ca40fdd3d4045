#!/usr/bin/env bash
# t_caps.sh -- the caps are exact: the burst guard, the daily cap under 40
# concurrent clients (through Postfix, and with two milter processes
# sharing one Redis), and transactions that do not finish charge nothing.
set -u
. "$(dirname "$0")/common.sh"
# The races put 40 sessions on two cores at once, 20 per milter against a
# pool of 16 connections: a session may wait for a connection, which counts
# against its backend deadline.  Under ASan (build-san/) that wait passed
# 1000 ms once in CI and a lookup tempfailed, which this test would read as
# a wrong count.  These races test exactness, not latency: a deadline of 5 s.
PI_BACKEND_TIMEOUT_MS=5000
pi_setup

A=$(pi_account "Acme" acme)
read -r RAPID_ID RAPID <<<"$(pi_inbox "$A" rapid)"
read -r RACE_ID RACE <<<"$(pi_inbox "$A" race --daily-limit 10 --burst-limit 1000)"
read -r RACE2_ID RACE2 <<<"$(pi_inbox "$A" race2 --daily-limit 10 --burst-limit 1000)"
read -r ABORT_ID ABORT <<<"$(pi_inbox "$A" abort)"
for ib in "$RAPID" "$RACE" "$RACE2" "$ABORT"; do
    pi_ctl login grant --login alice@example.test --inbox "$ib" >/dev/null
done
AUTH=(-a PLAIN -au alice@example.test -ap secret)

t_eq "default burst limit of a sandbox inbox is 25" 25 "$(pi_ctl --json inbox show "$RAPID_ID" | json_get burstLimit)"
t_eq "default daily limit of a sandbox inbox is 250" 250 "$(pi_ctl --json inbox show "$RAPID_ID" | json_get dailySendLimit)"

replies=$(send_many 40 8 "$RAPID")
t_eq "burst: exactly 25 of 40 rapid sends accepted" 25 "$(grep -c '^250 ' <<<"$replies")"
t_eq "burst: the other 15 are 451 4.7.1" 15 "$(grep -c '^451 4\.7\.1 ' <<<"$replies")"
t_eq "burst: sendsToday is 25" 25 "$(pi_sends_today "$RAPID_ID")"
t_eq "burst: 25 outbound rows" 25 "$(svc_psql "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$RAPID_ID'")"

# Each daily cap race lies within one UTC day (after midnight the cap admits 10 more).
pi_clear_of_midnight 60
replies=$(send_many 40 40 "$RACE")
t_eq "daily cap race, 40 concurrent clients: exactly 10 accepted" 10 "$(grep -c '^250 ' <<<"$replies")"
t_eq "daily cap race: the rest are 451 4.7.1" 30 "$(grep -c '^451 4\.7\.1 ' <<<"$replies")"
t_eq "daily cap race: sendsToday is 10" 10 "$(pi_sends_today "$RACE_ID")"
t_eq "daily cap race: 10 records" 10 "$(svc_psql "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$RACE_ID'")"

# Two milter processes sharing one Redis, 40 concurrent sessions split
# between them, driven with miltertest (MAIL as alice, one RCPT, EOM).
pi_start_milter "$MILTER2_PORT" || t_fail "second milter starts"
mkdir -p "$SVC_DIR/mt"
for i in $(seq 1 40); do
    port=$MILTER_PORT; (( i % 2 )) && port=$MILTER2_PORT
    sed -e "s/@PORT@/$port/" -e "s/@FROM@/$RACE2/" -e "s/@RCPT@/m$i@remote.test/" -e "s/@QID@/MT$i/" \
        "$PI_SRCDIR/tests/miltertest/send_one.lua" > "$SVC_DIR/mt/$i.lua"
done
pi_clear_of_midnight 60
mtpids=()
for i in $(seq 1 40); do
    ( miltertest -s "$SVC_DIR/mt/$i.lua" > "$SVC_DIR/mt/$i.out" 2>&1 ) &
    mtpids+=($!)
done
wait "${mtpids[@]}"
accepted=$(cat "$SVC_DIR"/mt/*.out | grep -c '^result accepted')
refused=$(cat "$SVC_DIR"/mt/*.out | grep -c '^result refused')
capped=$(cat "$(pi_milter_log)" "$(pi_milter_log "$MILTER2_PORT")" | grep -c "inbox=$RACE2 action=tempfail reason=daily")
t_eq "two milters, one Redis: exactly 10 of 40 accepted" 10 "$accepted"
t_eq "two milters, one Redis: 30 refused" 30 "$refused"
t_eq "two milters, one Redis: the milters logged 30 daily-cap tempfails" 30 "$capped"
t_eq "two milters, one Redis: sendsToday is 10" 10 "$(pi_sends_today "$RACE2_ID")"
t_eq "two milters, one Redis: 10 records" 10 \
    "$(svc_psql "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$RACE2_ID'")"
# Each milter served its 20 sessions: 20 RCPT decisions for the inbox in
# each log.  (Which of them won the 10 sends is up to the scheduler.)
t_eq "two milters: the first decided its 20 RCPTs" 20 \
    "$(grep -c "stage=rcpt direction=outbound sender=<$RACE2>.* rcpt=<m[0-9]*@remote.test> inbox=$RACE2 " "$(pi_milter_log)")"
t_eq "two milters: the second decided its 20 RCPTs" 20 \
    "$(grep -c "stage=rcpt direction=outbound sender=<$RACE2>.* rcpt=<m[0-9]*@remote.test> inbox=$RACE2 " "$(pi_milter_log "$MILTER2_PORT")")"

# Transactions that never finish charge nothing.
r=$(smtp_send "${AUTH[@]}" --from "$ABORT" --to q1@remote.test,q2@remote.test --quit-after RCPT)
t_match "QUIT after RCPT: recipients were accepted" '^2' "$r"
sleep 0.3
t_eq "QUIT after RCPT charges nothing" 0 "$(pi_sends_today "$ABORT_ID")"
printf '/^X-Reject-Me:/ REJECT rejected by header_checks\n' > "$SVC_DIR/header_checks"
svc_postconf -e "header_checks = regexp:$SVC_DIR/header_checks"
svc_postfix_reload
r=$(smtp_send "${AUTH[@]}" --from "$ABORT" --to q3@remote.test --header "X-Reject-Me: yes")
t_match "Postfix rejects the message after RCPT" '^5' "$r"
sleep 0.3
t_eq "a later rejection by Postfix charges nothing" 0 "$(pi_sends_today "$ABORT_ID")"
sed -e "s/@PORT@/$MILTER_PORT/" -e "s/@FROM@/$ABORT/" "$PI_SRCDIR/tests/miltertest/abort_after_rcpt.lua" \
    > "$SVC_DIR/mt/abort.lua"
out=$(miltertest -s "$SVC_DIR/mt/abort.lua" 2>&1)
t_match "miltertest: RCPT reserved, then abort" 'result aborted' "$out"
t_eq "an aborted transaction (RSET) charges nothing" 0 "$(pi_sends_today "$ABORT_ID")"
t_eq "no record for aborted transactions" 0 "$(svc_psql "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$ABORT_ID'")"
r=$(smtp_send "${AUTH[@]}" --from "$ABORT" --to q4@remote.test)
t_match "after all that, a normal send passes" '^250 ' "$r"
t_eq "and is the only send charged" 1 "$(pi_sends_today "$ABORT_ID")"

t_summary
