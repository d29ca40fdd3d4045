#!/usr/bin/env bash
# test-timeout: 900
# t_send.sh -- sending as an inbox through the API path (send_as_inbox,
# driven by `postinboxctl send`), through a real Postfix with the milter,
# real PostgreSQL and Redis: what the caller gets back (status, Message-ID,
# queue id, retry-after, reason), the row the milter recorded and the
# sends it charged.  Caps, status checks and suppression are the milter's:
# the submission authenticates as the service login (api_submission_login,
# common.sh provisions it), so it is outbound from the inbox.  Bad input is refused before any connection.
set -u
. "$(dirname "$0")/common.sh"
pi_init
# The milter does not read the api_ keys.
pi_setup "api_submission = 127.0.0.1:$SMTP_PORT" \
    "api_submission_timeout = 10s" "api_helo = api.test"

A=$(pi_account "Acme" acme)
pi_ctl domain add --account "$A" --name acme.test --verified >/dev/null
read -r BOB_ID BOB <<<"$(pi_inbox "$A" bob --display-name "Bob Example")"
read -r SALES_ID SALES <<<"$(pi_inbox "$A" sales --domain acme.test)"
read -r BURST_ID BURST <<<"$(pi_inbox "$A" bursty --burst-limit 3)"
read -r MULTI_ID MULTI <<<"$(pi_inbox "$A" multi --burst-limit 3)"
read -r DAILY_ID DAILY <<<"$(pi_inbox "$A" daily --daily-limit 1)"
read -r SUSP_ID SUSP <<<"$(pi_inbox "$A" susp)"
read -r DIS_ID DIS <<<"$(pi_inbox "$A" dis)"
pi_ctl inbox suspend "$SUSP" --reason "test: suspended" >/dev/null
pi_ctl inbox disable "$DIS" --reason "test: disabled" >/dev/null

# send INBOX ARGS...: the JSON result of postinboxctl send.
send() {
    local inbox=$1
    shift
    pi_ctl --json send "$inbox" "$@" 2>"$SVC_DIR/send.err"
}
rows_of() { svc_psql "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$1'"; }
connects() { grep -c 'postfix/smtpd.*: connect from' "$(svc_maillog)"; }

# --- queued ------------------------------------------------------------------
out=$(send "$BOB" --to friend@remote.test --subject "café report" --text "Hello from the API")
t_eq "queued: 202" 202 "$(json_get status <<<"$out")"
MID=$(json_get messageId <<<"$out")
QID=$(json_get queueId <<<"$out")
t_match "queued: a fresh Message-ID on the inbox's domain" "^<[0-9a-f]{32}@$SANDBOX>\$" "$MID"
t_match "queued: Postfix's queue id" '^[0-9A-Za-z]{6,}$' "$QID"
t_eq "queued: an outbound row with that Message-ID, queue id, decoded subject and envelope" \
    "outbound|$QID|café report|$BOB|friend@remote.test" \
    "$(svc_psql "SELECT direction, queue_id, subject, envelope_from, array_to_string(envelope_to, ',')
                   FROM postinbox.message WHERE inbox_id = '$BOB_ID' AND message_id_header = '$MID'")"
t_eq "queued: sendsToday is 1" 1 "$(pi_sends_today "$BOB_ID")"
t_eq "queued: message.sent event" 1 \
    "$(svc_psql "SELECT count(*) FROM postinbox.event e JOIN postinbox.message m ON m.id = e.message_id
                  WHERE m.message_id_header = '$MID' AND e.type = 'message.sent'")"
svc_maillog_wait "$QID: client=localhost" 5 && t_ok "Postfix logged the submission under that queue id" \
    || t_fail "Postfix logged the submission under that queue id"

out=$(send "$BOB" --to "Ann <ann@remote.test>" --to bo@remote.test --cc carl@remote.test --subject "both" \
      --text "plain" --html "<p>rich</p>" --in-reply-to "<orig-1@remote.test>" --reference "<orig-1@remote.test>")
t_eq "text+html, To and Cc, a reply: 202" 202 "$(json_get status <<<"$out")"
t_eq "three recipients are three sends" 4 "$(pi_sends_today "$BOB_ID")"
t_eq "the reply row keeps In-Reply-To and Cc" "<orig-1@remote.test>|carl@remote.test" \
    "$(svc_psql "SELECT in_reply_to, cc_header FROM postinbox.message
                  WHERE message_id_header = '$(json_get messageId <<<"$out")'")"

out=$(send "$BOB" --to "$SALES" --subject "internal" --text "hi sales")
t_eq "inbox to inbox: 202" 202 "$(json_get status <<<"$out")"
t_eq "inbox to inbox: an inbound row for the recipient inbox" "inbound" \
    "$(svc_psql "SELECT direction FROM postinbox.message WHERE inbox_id = '$SALES_ID'
                  AND message_id_header = '$(json_get messageId <<<"$out")'")"

# --- caps ----------------------------------------------------------------------
for i in 1 2 3; do
    out=$(send "$BURST" --to "b$i@remote.test" --subject "burst $i" --text x)
    t_eq "burst limit 3: send $i is 202" 202 "$(json_get status <<<"$out")"
done
out=$(send "$BURST" --to b4@remote.test --subject "burst 4" --text x)
t_eq "burst limit 3: the 4th send is 429" 429 "$(json_get status <<<"$out")"
t_eq "burst: code burst_limit" burst_limit "$(json_get error.code <<<"$out")"
ra=$(json_get retryAfter <<<"$out")
t_match "burst: retryAfter is 1..60 s" '^([1-9]|[1-5][0-9]|60)$' "$ra"
t_match "burst: the reason names the inbox" "inbox $BURST sent too many messages in 60 seconds, retry in $ra s" \
    "$(json_get error.message <<<"$out")"
t_match "burst: the SMTP reply is kept" '^451 4\.7\.1 ' "$(json_get smtpReply <<<"$out")"
t_eq "burst: nothing charged beyond 3" 3 "$(pi_sends_today "$BURST_ID")"
t_eq "burst: 3 rows" 3 "$(rows_of "$BURST_ID")"

# All or nothing: 1 sent, then 3 recipients where only 2 fit in the burst.
out=$(send "$MULTI" --to m0@remote.test --subject one --text x)
t_eq "all or nothing: first send 202" 202 "$(json_get status <<<"$out")"
out=$(send "$MULTI" --to m1@remote.test --to m2@remote.test --to m3@remote.test --subject three --text x)
t_eq "all or nothing: the 3rd recipient hits the burst, the send is 429" 429 "$(json_get status <<<"$out")"
sleep 0.3
t_eq "all or nothing: the 2 recipients accepted before were refunded" 1 "$(pi_sends_today "$MULTI_ID")"
t_eq "all or nothing: no row for the refused send" 1 "$(rows_of "$MULTI_ID")"

# The cap and the time until its reset lie within one UTC day.
pi_clear_of_midnight 60
send "$DAILY" --to d1@remote.test --subject d1 --text x >/dev/null
# (the clock postinboxctl computes retryAfter on)
sent_at=$(${PI_CTL_WRAP-} date -u +%s)
out=$(send "$DAILY" --to d2@remote.test --subject d2 --text x)
answered_at=$(${PI_CTL_WRAP-} date -u +%s)
t_eq "daily cap: 429" 429 "$(json_get status <<<"$out")"
t_eq "daily cap: code daily_limit" daily_limit "$(json_get error.code <<<"$out")"
ra=$(json_get retryAfter <<<"$out")
midnight=$(( (sent_at / 86400 + 1) * 86400 ))
t_match "daily cap: retryAfter is a number" '^[0-9]+$' "$ra"
# Computed between the request and the answer: within that bracket (1 s for rounding).
if [ "$ra" -ge 1 ] && [ "$ra" -le $((midnight - sent_at + 1)) ] && [ "$ra" -ge $((midnight - answered_at - 1)) ]; then
    t_ok "daily cap: retryAfter is the time until 00:00 UTC"
else
    t_fail "daily cap: retryAfter is the time until 00:00 UTC" \
        "got $ra, expected $((midnight - answered_at))..$((midnight - sent_at)) (the send took $((answered_at - sent_at)) s)"
fi
t_match "daily cap: the reason gives the reset time" 'resets at [0-9-]+T00:00:00Z' "$(json_get error.message <<<"$out")"
t_eq "daily cap: sendsToday stays 1" 1 "$(pi_sends_today "$DAILY_ID")"

# --- status and suppression ------------------------------------------------------
out=$(send "$SUSP" --to x@remote.test --subject s --text x)
t_eq "suspended inbox: 403" 403 "$(json_get status <<<"$out")"
t_eq "suspended inbox: code sender_refused" sender_refused "$(json_get error.code <<<"$out")"
t_match "suspended inbox: the reason says so" "sending inbox $SUSP is suspended" "$(json_get error.message <<<"$out")"
out=$(send "$DIS" --to x@remote.test --subject s --text x)
t_eq "disabled inbox: 403" 403 "$(json_get status <<<"$out")"
t_match "disabled inbox: the reason says so" "is disabled" "$(json_get error.message <<<"$out")"
t_eq "suspended/disabled: no rows" 0 "$(( $(rows_of "$SUSP_ID") + $(rows_of "$DIS_ID") ))"

pi_ctl suppression add "$BOB" --address blocked@remote.test --reason "test" >/dev/null
before=$(pi_sends_today "$BOB_ID")
rows_before=$(rows_of "$BOB_ID")
out=$(send "$BOB" --to ok@remote.test --to blocked@remote.test --subject s --text x)
t_eq "suppressed recipient: 422" 422 "$(json_get status <<<"$out")"
t_eq "suppressed recipient: code recipient_refused" recipient_refused "$(json_get error.code <<<"$out")"
t_match "suppressed recipient: the reason names it" 'blocked@remote\.test.*suppression list' \
    "$(json_get error.message <<<"$out")"
sleep 0.3
t_eq "suppressed recipient: nothing charged, not even for the good recipient" "$before" "$(pi_sends_today "$BOB_ID")"
t_eq "suppressed recipient: no row" "$rows_before" "$(rows_of "$BOB_ID")"

# --- bad input: 400, and Postfix never hears of it --------------------------------
printf '{"to": ["a@remote.test"], "subject": "nul\\u0000byte", "text": "x"}' > "$SVC_DIR/nul_subject.json"
printf '{"to": ["a@remote.test"], "subject": "s", "text": "a\\u0000b"}' > "$SVC_DIR/nul_text.json"
printf '{"to": ["a@remote.test\\u0000b@evil.test"], "subject": "s", "text": "x"}' > "$SVC_DIR/nul_to.json"
python3 -c 'import json; print(json.dumps({"to": ["r%d@remote.test" % i for i in range(60)], "subject": "s", "text": "x"}))' \
    > "$SVC_DIR/sixty.json"
python3 -c 'import json; print(json.dumps({"to": ["r%d@remote.test" % i for i in range(30)], "cc": ["c%d@remote.test" % i for i in range(21)], "subject": "s", "text": "x"}))' \
    > "$SVC_DIR/fiftyone.json"
echo '{"to": [], "subject": "s", "text": "x"}' > "$SVC_DIR/empty_to.json"
echo '{"to": ["a@remote.test"], "subject": "s", "text": "x", "bcc": ["b@remote.test"]}' > "$SVC_DIR/unknown.json"
echo '{"to": ["a@remote.test"], "subject": 5, "text": "x"}' > "$SVC_DIR/subject_number.json"
echo '{"to": {"a": 1}, "subject": "s", "text": "x"}' > "$SVC_DIR/to_object.json"
echo '{"to": ["a@remote.test"], "subject": "s"}' > "$SVC_DIR/no_body.json"
echo '["a@remote.test"]' > "$SVC_DIR/array.json"

sleep 0.5
c0=$(connects)
check_400() {
    local name=$1 code=$2
    shift 2
    local out
    out=$(send "$BOB" "$@")
    t_eq "bad input, $name: 400 $code" "400 $code" "$(json_get status <<<"$out") $(json_get error.code <<<"$out")"
}
check_400 "CRLF in subject (header injection)" invalid_header --to a@remote.test --subject $'hi\r\nBcc: victim@remote.test' --text x
check_400 "LF in subject" invalid_header --to a@remote.test --subject $'hi\nBcc: victim@remote.test' --text x
check_400 "CRLF in To" invalid_header --to $'a@remote.test\r\nBcc: victim@remote.test' --subject s --text x
check_400 "CRLF in Cc" invalid_header --to a@remote.test --cc $'c@remote.test\nX-Evil: 1' --subject s --text x
check_400 "CRLF in In-Reply-To" invalid_message_id --to a@remote.test --subject s --text x --in-reply-to $'<a@b.test>\r\nBcc: v@remote.test'
check_400 "NUL in subject" invalid_header --request "$SVC_DIR/nul_subject.json"
check_400 "NUL in text" invalid_body --request "$SVC_DIR/nul_text.json"
check_400 "NUL in To" invalid_header --request "$SVC_DIR/nul_to.json"
check_400 "invalid UTF-8 in subject" invalid_utf8 --to a@remote.test --subject $'caf\xe9' --text x
check_400 "invalid UTF-8 in text" invalid_utf8 --to a@remote.test --subject s --text $'\xff\xfe'
check_400 "60 recipients" too_many_recipients --request "$SVC_DIR/sixty.json"
check_400 "51 recipients across To and Cc" too_many_recipients --request "$SVC_DIR/fiftyone.json"
check_400 "empty to" missing_field --request "$SVC_DIR/empty_to.json"
check_400 "no to at all" missing_field --subject s --text x
check_400 "malformed address" invalid_address --to "not-an-address" --subject s --text x
check_400 "unknown field (bcc)" unknown_field --request "$SVC_DIR/unknown.json"
check_400 "subject is a number" invalid_type --request "$SVC_DIR/subject_number.json"
check_400 "to is an object" invalid_type --request "$SVC_DIR/to_object.json"
check_400 "neither text nor html" missing_field --request "$SVC_DIR/no_body.json"
check_400 "request is not an object" invalid_request --request "$SVC_DIR/array.json"
sleep 0.5
t_eq "bad input: no SMTP connection was made" "$c0" "$(connects)"
out=$(send "$BOB" --to a@remote.test --subject $'hi\r\nBcc: victim@remote.test' --text x)
t_match "bad input: the message names the field" '^subject: ' "$(json_get error.message <<<"$out")"
pi_ctl send "$BOB" --to a@remote.test --subject s --text x --request "$SVC_DIR/empty_to.json" >/dev/null 2>&1
t_eq "--request with --to is a usage error" 2 "$?"

# --- backends and Postfix down -----------------------------------------------------
svc_kill_redis
out=$(send "$BOB" --to r@remote.test --subject s --text x)
t_eq "Redis down: the milter's 451 4.3.0 is 503" "503 backend_unavailable" \
    "$(json_get status <<<"$out") $(json_get error.code <<<"$out")"
t_eq "Redis down: retryAfter 5" 5 "$(json_get retryAfter <<<"$out")"
svc_stop_postfix
out=$(send "$BOB" --to r@remote.test --subject s --text x)
t_eq "Postfix stopped: 503 submission_unavailable" "503 submission_unavailable" \
    "$(json_get status <<<"$out") $(json_get error.code <<<"$out")"
t_eq "Postfix stopped: retryAfter 5" 5 "$(json_get retryAfter <<<"$out")"
t_match "Postfix stopped: the reason names the address" "127\.0\.0\.1:$SMTP_PORT.*connect" \
    "$(json_get error.message <<<"$out")"
pi_ctl send "$BOB" --to r@remote.test --subject s --text x >/dev/null 2>&1
t_eq "exit status 1 when not queued" 1 "$?"

t_summary
