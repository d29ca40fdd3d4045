#!/usr/bin/env bash
# t_api_send.sh -- POST /v1/inboxes/{id}/messages end to end: curl ->
# postinbox-policyd's API -> the local Postfix (api_submission, from
# 127.0.0.1 in trusted_networks) -> postinbox-milter's checks and caps ->
# the rows.  202 with messageId and queueId for a queued message; the burst
# guard answers 429 with Retry-After and the milter's reason, and charges
# nothing more; a suspended inbox 403; bad input 400 before any SMTP; an
# inbox key cannot send as another inbox.
set -u
. "$(dirname "$0")/common.sh"
command -v curl >/dev/null || { echo "SKIP: needs curl"; exit 77; }
pi_init --policyd
API_PORT=$(_svc_pick_ports 1) || exit 1
# The milter does not read the api_ keys.
pi_setup --policyd "trusted_networks = 127.0.0.0/8" "api_listen = 127.0.0.1:$API_PORT" \
    "api_submission = 127.0.0.1:$SMTP_PORT" "api_submission_timeout = 10s"
API=http://127.0.0.1:$API_PORT

A=$(pi_account "Acme" acme)
read -r BURST_ID BURST <<<"$(pi_inbox "$A" bursty --burst-limit 2)"
read -r SUSP_ID SUSP <<<"$(pi_inbox "$A" susp)"
read -r OTHER_ID _ <<<"$(pi_inbox "$A" other)"
pi_ctl inbox suspend "$SUSP" --reason "test: suspended" >/dev/null
KA=$(pi_ctl --json apikey create --account "$A" --name admin | json_get key)
KI=$(pi_ctl --json apikey create --account "$A" --inbox "$OTHER_ID" --name other | json_get key)

# post INBOX_ID KEY BODY: prints "STATUS RETRY-AFTER BODY" (RETRY-AFTER "-" when absent).
post() {
    local hdr=$SVC_DIR/api.hdr out ra
    out=$(curl -s -D "$hdr" -o "$SVC_DIR/api.body" -w '%{http_code}' -X POST -H "x-api-key: $2" \
        -H 'Content-Type: application/json' --data-binary "$3" "$API/v1/inboxes/$1/messages")
    ra=$(awk 'tolower($1) == "retry-after:" { gsub(/\r/, "", $2); print $2 }' "$hdr")
    echo "$out ${ra:--} $(cat "$SVC_DIR/api.body")"
}
field() { cut -d' ' -f3- <<<"$1" | json_get "$2"; }
rows_of() { svc_psql "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$1' AND direction = 'outbound'"; }
connects() { grep -c 'postfix/smtpd.*: connect from' "$(svc_maillog)"; }

for i in 1 2; do
    r=$(post "$BURST_ID" "$KA" "{\"to\": \"friend$i@remote.test\", \"subject\": \"hello $i\", \"text\": \"body $i\"}")
    t_eq "send $i: 202 queued" "202 queued" "${r%% *} $(field "$r" status)"
    MID=$(field "$r" messageId)
    t_eq "send $i: the milter recorded it under its Message-ID and queue id" "1" \
        "$(svc_psql "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$BURST_ID' AND direction = 'outbound'
                       AND message_id_header = '$MID' AND queue_id = '$(field "$r" queueId)'")"
done
r=$(post "$BURST_ID" "$KA" '{"to": "friend3@remote.test", "subject": "hello 3", "text": "body 3"}')
read -r st ra _ <<<"$r"
t_eq "the 3rd send within 60 s: 429 burst_limit" "429 burst_limit" "$st $(field "$r" error.code)"
t_match "429 carries Retry-After in seconds (1-60)" '^([1-9]|[1-5][0-9]|60)$' "$ra"
t_match "429 names the inbox and the burst guard" "$BURST" "$(field "$r" error.message)"
t_eq "nothing charged or recorded beyond the guard" "2 2" \
    "$(curl -s -H "x-api-key: $KA" "$API/v1/inboxes/$BURST_ID" | json_get sendsToday) $(rows_of "$BURST_ID")"

r=$(post "$SUSP_ID" "$KA" '{"to": "friend@remote.test", "subject": "s", "text": "t"}')
t_eq "a suspended inbox: 403 sender_refused, no row" "403 sender_refused 0" "${r%% *} $(field "$r" error.code) $(rows_of "$SUSP_ID")"

before=$(connects)
for body in '{"to": "a@remote.test\r\nBcc: x@evil.test", "subject": "s", "text": "t"}' \
            '{"to": "friend@remote.test", "subject": "line\nBcc: x@evil.test", "text": "t"}' \
            '{"to": [], "subject": "s", "text": "t"}' '{"to": "friend@remote.test", "subject": "s"}'; do
    r=$(post "$OTHER_ID" "$KA" "$body")
    t_eq "bad input refused with 400: $(head -c 50 <<<"$body")" 400 "${r%% *}"
done
t_eq "bad input never reached Postfix" "$before" "$(connects)"

r=$(post "$BURST_ID" "$KI" '{"to": "friend@remote.test", "subject": "s", "text": "t"}')
t_eq "an inbox key cannot send as another inbox: 403, nothing sent" "403 2" "${r%% *} $(rows_of "$BURST_ID")"
r=$(post "$OTHER_ID" "$KI" '{"to": "friend@remote.test", "subject": "mine", "text": "t"}')
t_eq "but sends as its own inbox: 202" 202 "${r%% *}"

t_summary
