#!/usr/bin/env bash
# test-timeout: 900
# t_api.sh -- the HTTP admin API of postinbox-policyd, with curl, against
# the real daemon, PostgreSQL, Redis and Postfix: every endpoint, every
# auth failure, cross-account and cross-inbox access (refused, nothing
# changed), pagination edges, bad input of every kind, usage after real
# sends, status changes with their audit rows and events, delete and purge.
set -u
. "$(dirname "$0")/common.sh"
command -v curl >/dev/null || { echo "SKIP: needs curl"; exit 77; }
pi_init --policyd
API_PORT=$(_svc_pick_ports 1) || exit 1
pi_setup --policyd "api_listen = 127.0.0.1:$API_PORT" "api_max_body = 1048576" \
    "api_submission = 127.0.0.1:$SMTP_PORT" "api_submission_timeout = 10s"
API=http://127.0.0.1:$API_PORT

# api METHOD PATH KEY [BODY [CONTENT-TYPE]]: prints "STATUS BODY" (one line).
api() {
    local method=$1 path=$2 key=$3 body=${4-} ctype=${5-application/json} out
    local args=(-s -o "$SVC_DIR/api.body" -w '%{http_code}' -X "$method")
    [ -n "$key" ] && args+=(-H "x-api-key: $key")
    if [ $# -ge 4 ]; then args+=(-H "Content-Type: $ctype" --data-binary "$body"); fi
    out=$(curl "${args[@]}" "$API$path")
    echo "$out $(cat "$SVC_DIR/api.body")"
}
code() { echo "${1%% *}"; }
body() { echo "${1#* }"; }
errcode() { body "$1" | json_get error.code; }

A=$(pi_account "Acme" acme)
B=$(pi_account "Beta" beta)
read -r A1_ID A1 <<<"$(pi_inbox "$A" one)"
read -r A2_ID A2 <<<"$(pi_inbox "$A" two)"
read -r B1_ID B1 <<<"$(pi_inbox "$B" bob)"
KA=$(pi_ctl --json apikey create --account "$A" --name "acme admin" | json_get key)
out=$(pi_ctl --json apikey create --account "$A" --inbox "$A1" --name "one only")
KI=$(echo "$out" | json_get key)
t_match "apikey create: key shape" '^pik_[A-Za-z0-9_-]{43}$' "$KA"
t_eq "apikey create: fields" "['id', 'key', 'accountId', 'inboxId', 'name', 'prefix', 'createdAt']" \
    "$(echo "$out" | python3 -c 'import json,sys; print(list(json.load(sys.stdin).keys()))')"
t_eq "apikey create: inbox key names the inbox" "$A1_ID" "$(echo "$out" | json_get inboxId)"
t_eq "apikey: only the hash is stored" 0 "$(svc_psql "SELECT count(*) FROM postinbox.api_key WHERE hash = '$KA' OR prefix = '$KA'")"
t_eq "apikey create --inbox of another account: exit 1" 1 \
    "$(pi_ctl apikey create --account "$A" --inbox "$B1" >/dev/null 2>&1; echo $?)"
KB=$(pi_ctl --json apikey create --account "$B" | json_get key)
t_eq "apikey list: 2 keys of A, no key in it" "2 0" \
    "$(pi_ctl --json apikey list --account "$A" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["total"], sum("key" in k for k in d["data"]))')"

# --- auth -------------------------------------------------------------------
r=$(api GET /v1/inboxes "")
t_eq "no key: 401" 401 "$(code "$r")"
t_eq "no key: error format" unauthorized "$(errcode "$r")"
t_eq "bad key: 401" 401 "$(code "$(api GET /v1/inboxes pik_nope)")"
t_eq "well-formed unknown key: 401" 401 "$(code "$(api GET /v1/inboxes "pik_$(printf 'A%.0s' $(seq 1 43))")")"
t_eq "Bearer form: 200" 200 "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KA" "$API/v1/inboxes")"
t_eq "Basic auth: 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' -u "x:$KA" "$API/v1/inboxes")"
KR_ID=$(pi_ctl --json apikey create --account "$A" --name doomed | tee "$SVC_DIR/kr.json" | json_get id)
KR=$(json_get key < "$SVC_DIR/kr.json")
t_eq "key before revoke: 200" 200 "$(code "$(api GET /v1/inboxes "$KR")")"
pi_ctl apikey revoke "$KR_ID" --reason leaked >/dev/null
t_eq "revoked key: 401" 401 "$(code "$(api GET /v1/inboxes "$KR")")"
t_eq "revoke is audited" 1 "$(svc_psql "SELECT count(*) FROM postinbox.audit WHERE action = 'apikey.revoke' AND reason = 'leaked'")"
t_eq "last_used_at recorded" 1 "$(svc_psql "SELECT count(*) FROM postinbox.api_key WHERE id = '$KR_ID' AND last_used_at IS NOT NULL")"
t_eq "the log never holds a key" 0 "$(grep -c -e "$KA" -e "$KR" "$SVC_DIR/policyd.log")"
t_match "one log line per request with the key id" "api: method=GET path=/v1/inboxes status=401 key=$KR_ID .*us=[0-9]+" \
    "$(grep "key=$KR_ID" "$SVC_DIR/policyd.log" | tail -1)"

# --- routes -----------------------------------------------------------------
t_eq "unknown path: 404" 404 "$(code "$(api GET /v1/nothing "$KA")")"
t_eq "root: 404" 404 "$(code "$(api GET / "$KA")")"
r=$(api PUT /v1/inboxes "$KA" '{}')
t_eq "wrong method: 405" 405 "$(code "$r")"
t_match "405 has Allow" 'Allow: GET, POST' "$(curl -s -D - -o /dev/null -X PUT "$API/v1/inboxes")"
t_eq "bad uuid: 400" invalid_id "$(errcode "$(api GET /v1/inboxes/not-a-uuid "$KA")")"
t_eq "bad uuid in a sub-path: 400" 400 "$(code "$(api GET "/v1/inboxes/$A1_ID/messages/xyz" "$KA")")"

# --- create -----------------------------------------------------------------
r=$(api POST /v1/inboxes "$KA" '{"username": "Sales", "displayName": "Sales", "labels": ["a", "b", "a"]}')
t_eq "create: 201" 201 "$(code "$r")"
S_ID=$(body "$r" | json_get id)
t_eq "create: sandbox address" "sales--acme@$SANDBOX" "$(body "$r" | json_get address)"
t_eq "create: labels deduplicated" '["a", "b"]' "$(body "$r" | json_get labels)"
t_eq "create: same row as ctl shows" "sales--acme@$SANDBOX" "$(pi_ctl --json inbox show "$S_ID" | json_get address)"
t_eq "create duplicate: 409" 409 "$(code "$(api POST /v1/inboxes "$KA" '{"username": "sales"}')")"
r=$(api POST /v1/inboxes "$KA" '{}')
t_eq "create without username: 201" 201 "$(code "$r")"
t_match "create without username: random" "^[a-z0-9]{10}--acme@$SANDBOX\$" "$(body "$r" | json_get address)"
t_eq "create by an inbox key: 403" 403 "$(code "$(api POST /v1/inboxes "$KI" '{"username": "x"}')")"
DOMB=$(pi_ctl --json domain add --account "$B" --name beta.test --verified | json_get id)
DOMA=$(pi_ctl --json domain add --account "$A" --name acme.test --verified | json_get id)
DOMU=$(pi_ctl --json domain add --account "$A" --name unverified.test | json_get id)
r=$(api POST /v1/inboxes "$KA" "{\"username\": \"hello\", \"domainId\": \"$DOMA\"}")
t_eq "create on a verified custom domain" "201 hello@acme.test" "$(code "$r") $(body "$r" | json_get address)"
t_eq "create on another account's domain: 400" 400 "$(code "$(api POST /v1/inboxes "$KA" "{\"username\": \"x\", \"domainId\": \"$DOMB\"}")")"
t_eq "create on an unverified domain: 400" 400 "$(code "$(api POST /v1/inboxes "$KA" "{\"username\": \"x\", \"domainId\": \"$DOMU\"}")")"
t_eq "no inbox on B's domain" 0 "$(svc_psql "SELECT count(*) FROM postinbox.inbox WHERE address LIKE '%@beta.test'")"

# --- bad input ---------------------------------------------------------------
t_eq "invalid JSON: 400" invalid_json "$(errcode "$(api POST /v1/inboxes "$KA" '{"username": ')")"
t_eq "JSON array: 400" invalid_json "$(errcode "$(api POST /v1/inboxes "$KA" '[{"username": "x"}]')")"
t_eq "unknown field: 400" unknown_field "$(errcode "$(api POST /v1/inboxes "$KA" '{"username": "x", "admin": true}')")"
t_eq "wrong type: 400" invalid_type "$(errcode "$(api POST /v1/inboxes "$KA" '{"username": 5}')")"
t_eq "invalid UTF-8: 400" 400 "$(code "$(api POST /v1/inboxes "$KA" $'{"displayName": "\xff\xfe"}')")"
printf '{"username": "nul\0x"}' > "$SVC_DIR/nul.json"
t_eq "NUL byte: 400" 400 "$(curl -s -o /dev/null -w '%{http_code}' -H "x-api-key: $KA" -H 'Content-Type: application/json' --data-binary "@$SVC_DIR/nul.json" "$API/v1/inboxes")"
t_eq "escaped NUL: 400" 400 "$(code "$(api POST /v1/inboxes "$KA" '{"username": "a\u0000b"}')")"
t_eq "bad username: 400" 400 "$(code "$(api POST /v1/inboxes "$KA" '{"username": "../x"}')")"
t_eq "control character in displayName: 400" 400 "$(code "$(api POST /v1/inboxes "$KA" '{"displayName": "a\nb"}')")"
t_eq "bidi override (U+202E) in displayName: 400" 400 \
    "$(code "$(api POST /v1/inboxes "$KA" $'{"username": "bidi", "displayName": "evil\xe2\x80\xaegnp"}')")"
t_eq "... and no inbox was created" "" "$(svc_psql "SELECT address FROM postinbox.inbox WHERE address LIKE 'bidi--%'")"
labels=$(python3 -c 'import json; print(json.dumps({"labels": ["l%d" % i for i in range(51)]}))')
t_eq "51 labels: 400" 400 "$(code "$(api POST /v1/inboxes "$KA" "$labels")")"
labels=$(python3 -c 'import json; print(json.dumps({"labels": ["x" * 101]}))')
t_eq "label of 101 bytes: 400" 400 "$(code "$(api POST /v1/inboxes "$KA" "$labels")")"
t_eq "text/plain body: 415" 415 "$(code "$(api POST /v1/inboxes "$KA" '{}' text/plain)")"
head -c 2000000 /dev/zero | tr '\0' ' ' > "$SVC_DIR/big.json"
t_eq "2 MB body: 413" 413 "$(curl -s -o /dev/null -w '%{http_code}' -H "x-api-key: $KA" -H 'Content-Type: application/json' --data-binary "@$SVC_DIR/big.json" "$API/v1/inboxes")"
# Error messages quote the input: cut inside a character, or invalid
# UTF-8 in the path, they must still make a 400, not a 500.
r=$(api GET /v1/inboxes/%ff%fe "$KA")
t_eq "invalid UTF-8 in a path id: 400" "400 invalid_id" "$(code "$r") $(errcode "$r")"
r=$(api POST /v1/inboxes "$KA" "{\"$(printf 'a%.0s' $(seq 1 63))\u00e9\": 1}")
t_eq "unknown field quoted cut inside a character: 400" "400 unknown_field" "$(code "$r") $(errcode "$r")"
t_eq "daemon alive after bad input" 200 "$(code "$(api GET /v1/inboxes "$KA")")"

# --- list and pagination ------------------------------------------------------
NA=$(svc_psql "SELECT count(*) FROM postinbox.inbox WHERE account_id = '$A'")
r=$(api GET /v1/inboxes "$KA")
t_eq "list: total is the account's inboxes" "$NA" "$(body "$r" | json_get total)"
t_eq "list: never another account's" 0 "$(body "$r" | python3 -c "import json,sys; print(sum(i['accountId'] != '$A' for i in json.load(sys.stdin)['data']))")"
t_eq "limit 1" 1 "$(api GET '/v1/inboxes?limit=1' "$KA" | cut -d' ' -f2- | json_get data | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
t_eq "limit 100" 200 "$(code "$(api GET '/v1/inboxes?limit=100' "$KA")")"
for bad in 0 101 -1 abc '1e2' ''; do
    t_eq "limit '$bad': 400" 400 "$(code "$(api GET "/v1/inboxes?limit=$bad" "$KA")")"
done
t_eq "offset -1: 400" 400 "$(code "$(api GET '/v1/inboxes?offset=-1' "$KA")")"
r=$(api GET '/v1/inboxes?offset=1000' "$KA")
t_eq "offset beyond total: empty data, total kept" "[] $NA" "$(body "$r" | json_get data) $(body "$r" | json_get total)"
r=$(api GET /v1/inboxes "$KI")
t_eq "inbox key lists its inbox only" "1 $A1_ID" "$(body "$r" | json_get total) $(body "$r" | json_get data.0.id)"

# --- get, usage after real sends ------------------------------------------------
pi_ctl login grant --login alice@example.test --inbox "$A1" >/dev/null
AUTH=(-a PLAIN -au alice@example.test -ap secret)
# The API's sendsToday is the day's: these sends and the read lie within one UTC day.
pi_clear_of_midnight 30
send_many 3 3 "$A1" >/dev/null
r=$(api GET "/v1/inboxes/$A1_ID" "$KA")
t_eq "get: 200" 200 "$(code "$r")"
t_eq "get: sendsToday after 3 sends through Postfix" 3 "$(body "$r" | json_get sendsToday)"
t_eq "get: remaining" 247 "$(body "$r" | json_get remaining)"
t_eq "get: burstUsed" 3 "$(body "$r" | json_get burstUsed)"
t_eq "get: limits" "250 25" "$(body "$r" | json_get dailySendLimit) $(body "$r" | json_get burstLimit)"
t_match "get: resetAt is the next 00:00 UTC" 'T00:00:00\.000Z$' "$(body "$r" | json_get resetAt)"
t_eq "get by the inbox key: 200" 200 "$(code "$(api GET "/v1/inboxes/$A1_ID" "$KI")")"

# --- cross-account and cross-inbox: every endpoint with an id --------------------
W_B=$(pi_ctl --json webhook add --inbox "$B1" --url https://hooks.example.test/b | json_get id)
W_A=$(pi_ctl --json webhook add --inbox "$A2" --url https://hooks.example.test/a | json_get id)
M_B=$(svc_psql "SELECT gen_random_uuid()")
before=$(svc_psql "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM (SELECT * FROM postinbox.inbox) t")
before_w=$(svc_psql "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM (SELECT * FROM postinbox.webhook_endpoint) t")
for spec in "GET /v1/inboxes/$B1_ID" "PATCH /v1/inboxes/$B1_ID" "DELETE /v1/inboxes/$B1_ID" \
            "DELETE /v1/inboxes/$B1_ID?purge=true" \
            "GET /v1/inboxes/$B1_ID/messages" "POST /v1/inboxes/$B1_ID/messages" "GET /v1/inboxes/$B1_ID/messages/$M_B" \
            "GET /v1/inboxes/$B1_ID/threads" "GET /v1/inboxes/$B1_ID/threads/$M_B" "GET /v1/inboxes/$B1_ID/events" \
            "GET /v1/inboxes/$B1_ID/webhooks" "POST /v1/inboxes/$B1_ID/webhooks" \
            "GET /v1/inboxes/$B1_ID/webhooks/$W_B" "PATCH /v1/inboxes/$B1_ID/webhooks/$W_B" \
            "DELETE /v1/inboxes/$B1_ID/webhooks/$W_B" "GET /v1/inboxes/$B1_ID/webhooks/$W_B/deliveries" \
            "GET /v1/inboxes/$A1_ID/webhooks/$W_B" "PATCH /v1/inboxes/$A1_ID/webhooks/$W_B" \
            "DELETE /v1/inboxes/$A1_ID/webhooks/$W_B"; do
    read -r m p <<<"$spec"
    bodyarg=()
    case $m in POST|PATCH) bodyarg=('{"status": "suspended", "to": "x@remote.test", "subject": "s", "url": "https://evil.test/", "enabled": false}') ;; esac
    [ "$m" = PATCH ] && [[ $p == */webhooks/* ]] && bodyarg=('{"enabled": false}')
    [ "$m" = PATCH ] && [[ $p != */webhooks/* ]] && bodyarg=('{"status": "suspended"}')
    [ "$m" = POST ] && [[ $p == */webhooks ]] && bodyarg=('{"url": "https://evil.test/"}')
    [ "$m" = POST ] && [[ $p == */messages ]] && bodyarg=('{"to": "x@remote.test", "subject": "s"}')
    t_eq "account A's key on B: $m ${p//$B1_ID/B1}: 404" 404 "$(code "$(api "$m" "$p" "$KA" "${bodyarg[@]}")")"
done
for spec in "GET /v1/inboxes/$A2_ID" "PATCH /v1/inboxes/$A2_ID" "DELETE /v1/inboxes/$A2_ID" \
            "GET /v1/inboxes/$A2_ID/messages" "POST /v1/inboxes/$A2_ID/messages" "GET /v1/inboxes/$A2_ID/threads" \
            "GET /v1/inboxes/$A2_ID/events" "GET /v1/inboxes/$A2_ID/webhooks" "POST /v1/inboxes/$A2_ID/webhooks" \
            "GET /v1/inboxes/$A2_ID/webhooks/$W_A" "DELETE /v1/inboxes/$A2_ID/webhooks/$W_A" \
            "GET /v1/inboxes/$B1_ID"; do
    read -r m p <<<"$spec"
    bodyarg=()
    case $m in POST|PATCH) bodyarg=('{}') ;; esac
    t_eq "inbox key of A1 on another inbox: $m: 403" 403 "$(code "$(api "$m" "$p" "$KI" "${bodyarg[@]}")")"
done
t_eq "B's key on A1: 404" 404 "$(code "$(api GET "/v1/inboxes/$A1_ID" "$KB")")"
t_eq "refused attempts changed no inbox" "$before" "$(svc_psql "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM (SELECT * FROM postinbox.inbox) t")"
t_eq "refused attempts changed no webhook" "$before_w" "$(svc_psql "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM (SELECT * FROM postinbox.webhook_endpoint) t")"

# --- history ----------------------------------------------------------------------
r=$(api GET "/v1/inboxes/$A1_ID/messages" "$KA")
t_eq "messages: 3 outbound rows" 3 "$(body "$r" | json_get total)"
MID=$(body "$r" | json_get data.0.id)
TID=$(body "$r" | json_get data.0.threadId)
r=$(api GET "/v1/inboxes/$A1_ID/messages/$MID" "$KI")
t_eq "message: 200 with content fields" "200 outbound" "$(code "$r") $(body "$r" | json_get direction)"
t_eq "message: has recipients and textBody keys" "True True" \
    "$(body "$r" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("recipients" in d, "textBody" in d)')"
t_eq "message of another inbox of the account: 404" 404 "$(code "$(api GET "/v1/inboxes/$A2_ID/messages/$MID" "$KA")")"
t_eq "threads: 200" 200 "$(code "$(api GET "/v1/inboxes/$A1_ID/threads" "$KA")")"
r=$(api GET "/v1/inboxes/$A1_ID/threads/$TID" "$KA")
t_eq "thread with its messages" "200 1" "$(code "$r") $(body "$r" | json_get messages | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
r=$(api GET "/v1/inboxes/$A1_ID/events?type=message.sent" "$KA")
t_eq "events ?type=message.sent" 3 "$(body "$r" | json_get total)"
t_eq "events ?after=future" 0 "$(api GET "/v1/inboxes/$A1_ID/events?after=2999-01-01T00:00:00Z" "$KA" | cut -d' ' -f2- | json_get total)"
t_eq "events ?before=past" 0 "$(api GET "/v1/inboxes/$A1_ID/events?before=2000-01-01" "$KA" | cut -d' ' -f2- | json_get total)"
for q in "type=bogus" "type=message." "after=2024-01-01T00:00:00%2B05:99" "before=2024-01-01T00:00:00%2B0599" "after=yesterday" "after=2024-13-01" "before=2024-02-30T00:00:00Z" "limit=0"; do
    t_eq "events ?$q: 400" 400 "$(code "$(api GET "/v1/inboxes/$A1_ID/events?$q" "$KA")")"
done

# --- send (the wiring; send_as_inbox decides, t_api_send.sh has its cases) -----------
# Through the private Postfix and the milter: queued, recorded, charged once.
sent_before=$(pi_sends_today "$A1_ID")
r=$(api POST "/v1/inboxes/$A1_ID/messages" "$KA" '{"to": "x@remote.test", "subject": "hi", "text": "body"}')
t_eq "send: 202 queued with a queue id" "202 queued yes" \
    "$(code "$r") $(body "$r" | json_get status) $([[ $(body "$r" | json_get queueId) =~ ^[0-9A-Za-z]+$ ]] && echo yes || echo no)"
t_eq "send: its outbound row, sendsToday +1" "1 $((sent_before + 1))" \
    "$(svc_psql "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$A1_ID' AND direction = 'outbound'
                   AND queue_id = '$(body "$r" | json_get queueId)' AND subject = 'hi'") $(pi_sends_today "$A1_ID")"
t_eq "send: unknown field: 400" 400 "$(code "$(api POST "/v1/inboxes/$A1_ID/messages" "$KA" '{"to": "x@remote.test", "subject": "s", "bcc": "y"}')")"
t_eq "send: missing subject: 400" 400 "$(code "$(api POST "/v1/inboxes/$A1_ID/messages" "$KA" '{"to": "x@remote.test"}')")"
t_eq "send: no key: 401 before anything else" 401 "$(code "$(api POST "/v1/inboxes/$A1_ID/messages" "" '{"to": "x@remote.test", "subject": "s"}')")"

# --- PATCH, status audit and events ----------------------------------------------------
r=$(api PATCH "/v1/inboxes/$A2_ID" "$KA" '{"displayName": "Two", "labels": ["x"], "status": "suspended"}')
t_eq "patch: 200 suspended" "200 suspended Two" "$(code "$r") $(body "$r" | json_get status) $(body "$r" | json_get displayName)"
t_eq "patch status: audit row by the key" 1 "$(svc_psql "SELECT count(*) FROM postinbox.audit WHERE inbox_id = '$A2_ID' AND action = 'status' AND old_value = 'active' AND new_value = 'suspended' AND actor LIKE 'api:%'")"
t_eq "patch status: inbox.suspended event" 1 "$(svc_psql "SELECT count(*) FROM postinbox.event WHERE inbox_id = '$A2_ID' AND type = 'inbox.suspended'")"
api PATCH "/v1/inboxes/$A2_ID" "$KA" '{"status": "suspended"}' >/dev/null
t_eq "patch same status: no second audit row" 1 "$(svc_psql "SELECT count(*) FROM postinbox.audit WHERE inbox_id = '$A2_ID' AND action = 'status'")"
t_eq "patch bad status: 400" 400 "$(code "$(api PATCH "/v1/inboxes/$A2_ID" "$KA" '{"status": "deleted"}')")"
t_eq "patch displayName null clears it" null "$(api PATCH "/v1/inboxes/$A2_ID" "$KA" '{"displayName": null}' | cut -d' ' -f2- | json_get displayName)"
t_eq "patch by its inbox key" 200 "$(code "$(api PATCH "/v1/inboxes/$A1_ID" "$KI" '{"labels": ["mine"]}')")"
# Status is the account's (and the operator's) lever: a suspension, also
# one the complaint/bounce policy set, must not be lifted by the agent
# that holds the inbox key, nor a disabled inbox brought back by its key.
pi_ctl inbox suspend "$A1" --reason abuse >/dev/null
r=$(api PATCH "/v1/inboxes/$A1_ID" "$KI" '{"status": "active"}')
t_eq "inbox key cannot lift its inbox's suspension: 403" "403 forbidden" "$(code "$r") $(errcode "$r")"
t_eq "inbox key cannot set any status: 403" 403 "$(code "$(api PATCH "/v1/inboxes/$A1_ID" "$KI" '{"status": "suspended", "labels": ["z"]}')")"
t_eq "refused status change: still suspended, labels untouched" 'suspended ["mine"]' \
    "$(svc_psql "SELECT status || ' ' || to_json(labels)::text FROM postinbox.inbox WHERE id = '$A1_ID'")"
# Nor may the account's key lift what the operator (or the policy) set.
t_eq "the inbox says who suspended it" "operator abuse" \
    "$(api GET "/v1/inboxes/$A1_ID" "$KA" | cut -d' ' -f2- | json_get statusBy) $(api GET "/v1/inboxes/$A1_ID" "$KA" | cut -d' ' -f2- | json_get statusReason)"
r=$(api PATCH "/v1/inboxes/$A1_ID" "$KA" '{"status": "active", "labels": ["lifted"]}')
t_eq "the account key cannot lift an operator's suspension: 403 status_locked" "403 status_locked" "$(code "$r") $(errcode "$r")"
t_match "the refusal says who and why" "set by the operator: abuse; only the operator can change it" \
    "$(body "$r" | json_get error.message)"
r=$(api PATCH "/v1/inboxes/$A1_ID" "$KA" '{"status": "disabled"}')
t_eq "nor turn it into disabled: 403" "403 status_locked" "$(code "$r") $(errcode "$r")"
t_eq "DELETE (disable) by the account key: 403" "403 status_locked" \
    "$(r=$(api DELETE "/v1/inboxes/$A1_ID" "$KA"); echo "$(code "$r") $(errcode "$r")")"
t_eq "DELETE ?purge=true by the account key: 403" "403 status_locked" \
    "$(r=$(api DELETE "/v1/inboxes/$A1_ID?purge=true" "$KA"); echo "$(code "$r") $(errcode "$r")")"
t_eq "all refused: still suspended by the operator, reason and labels kept, no audit row" \
    'suspended operator abuse ["mine"] 1' \
    "$(svc_psql "SELECT status || ' ' || status_by || ' ' || status_reason || ' ' || to_json(labels)::text || ' ' || (SELECT count(*) FROM postinbox.audit a WHERE a.inbox_id = i.id AND a.action = 'status') FROM postinbox.inbox i WHERE id = '$A1_ID'")"
pi_ctl inbox activate "$A1" --reason "reviewed" >/dev/null
r=$(api PATCH "/v1/inboxes/$A1_ID" "$KA" '{"status": "suspended"}')
t_eq "the tenant's own suspension: statusBy tenant" "200 suspended tenant" \
    "$(code "$r") $(body "$r" | json_get status) $(body "$r" | json_get statusBy)"
t_eq "which its account key may lift" "200 active" \
    "$(api PATCH "/v1/inboxes/$A1_ID" "$KA" '{"status": "active"}' | { read -r c b; echo "$c $(echo "$b" | json_get status)"; })"
r=$(api DELETE "/v1/inboxes/$A1_ID" "$KI")
t_eq "an inbox key cannot DELETE (disable) its own inbox: 403, still active" "403 forbidden active" \
    "$(code "$r") $(errcode "$r") $(svc_psql "SELECT status FROM postinbox.inbox WHERE id = '$A1_ID'")"

# --- webhooks ------------------------------------------------------------------------------
r=$(api POST "/v1/inboxes/$A1_ID/webhooks" "$KA" '{"url": "HTTPS://hooks.example.test/x", "events": ["message.sent", "message.received"]}')
t_eq "webhook create: 201" 201 "$(code "$r")"
t_match "webhook create: secret once" '^whsec_' "$(body "$r" | json_get secret)"
t_eq "webhook create: scheme lower-cased, events ordered" 'https://hooks.example.test/x ["message.received", "message.sent"]' \
    "$(body "$r" | json_get url) $(body "$r" | json_get events)"
WID=$(body "$r" | json_get id)
t_match "webhook create: stored encrypted, not the secret (psql)" '^v1:[0-9a-f]{8}:' \
    "$(svc_psql "SELECT secret FROM postinbox.webhook_endpoint WHERE id = '$WID'")"
t_eq "webhook create: the stored value opens to the secret given once" "$(body "$r" | json_get secret)" \
    "$(pi_secret_open "$WID" "$(svc_psql "SELECT secret FROM postinbox.webhook_endpoint WHERE id = '$WID'")")"
t_eq "webhook add audited" 1 "$(svc_psql "SELECT count(*) FROM postinbox.audit WHERE action = 'webhook.add' AND actor LIKE 'api:%'")"
r=$(api GET "/v1/inboxes/$A1_ID/webhooks/$WID" "$KA")
t_eq "webhook get: no secret" "200 null" "$(code "$r") $(body "$r" | json_get secret)"
t_eq "webhook list" 1 "$(api GET "/v1/inboxes/$A1_ID/webhooks" "$KI" | cut -d' ' -f2- | json_get total)"
for bad in '{"url": "ftp://x.test/"}' '{"url": "https://u:p@x.test/"}' '{"url": "http://x.test/"}' \
           '{"url": "https://x.test/", "events": ["message.bogus"]}' '{"url": 5}' '{}'; do
    t_eq "webhook create $bad: 400" 400 "$(code "$(api POST "/v1/inboxes/$A1_ID/webhooks" "$KA" "$bad")")"
done
n_w=$(svc_psql "SELECT count(*) FROM postinbox.webhook_endpoint")
for host in 127.0.0.1 127.1 2130706433 0x7f.1 10.0.0.1 169.254.169.254 '[::1]' '[::ffff:127.0.0.1]' \
    '[::127.0.0.1]' '[64:ff9b::7f00:1]' '[2002:7f00:1::]' '[fd00::1]'; do
    r=$(api POST "/v1/inboxes/$A1_ID/webhooks" "$KA" "{\"url\": \"https://$host/h\"}")
    t_eq "webhook create https://$host: 400 private_address" "400 private_address" "$(code "$r") $(errcode "$r")"
done
t_match "private_address names the address and its class" '127\.0\.0\.1 is a loopback address' \
    "$(body "$(api POST "/v1/inboxes/$A1_ID/webhooks" "$KA" '{"url": "https://0x7f.1/h"}')" | json_get error.message)"
t_eq "webhook PATCH to https://[::1]: 400 private_address" "400 private_address" \
    "$(r=$(api PATCH "/v1/inboxes/$A1_ID/webhooks/$WID" "$KA" '{"url": "https://[::1]:8443/h"}'); echo "$(code "$r") $(errcode "$r")")"
t_eq "private addresses wrote nothing" "$n_w https://hooks.example.test/x" \
    "$(svc_psql "SELECT count(*) FROM postinbox.webhook_endpoint") $(svc_psql "SELECT url FROM postinbox.webhook_endpoint WHERE id = '$WID'")"
r=$(api POST "/v1/inboxes/$A1_ID/webhooks" "$KA" "{\"url\": \"https://x.test/\", \"events\": [\"$(printf 'a%.0s' $(seq 1 99))\u00e9\"]}")
t_eq "webhook create, bad event type cut inside a character: 400" "400 invalid_field" "$(code "$r") $(errcode "$r")"
r=$(api PATCH "/v1/inboxes/$A1_ID/webhooks/$WID" "$KA" '{"enabled": false}')
t_eq "webhook disable" "200 False" "$(code "$r") $(body "$r" | json_get enabled | sed 's/false/False/')"
t_eq "webhook deliveries" 200 "$(code "$(api GET "/v1/inboxes/$A1_ID/webhooks/$WID/deliveries?status=pending" "$KA")")"
t_eq "webhook deliveries ?status=bogus: 400" 400 "$(code "$(api GET "/v1/inboxes/$A1_ID/webhooks/$WID/deliveries?status=bogus" "$KA")")"
t_eq "webhook delete: 204" 204 "$(code "$(api DELETE "/v1/inboxes/$A1_ID/webhooks/$WID" "$KA")")"
t_eq "webhook gone: 404" 404 "$(code "$(api GET "/v1/inboxes/$A1_ID/webhooks/$WID" "$KA")")"

# --- delete and purge ------------------------------------------------------------------------
t_eq "soft delete: 204" 204 "$(code "$(api DELETE "/v1/inboxes/$S_ID" "$KA")")"
t_eq "soft delete: disabled, row kept" disabled "$(svc_psql "SELECT status FROM postinbox.inbox WHERE id = '$S_ID'")"
t_eq "soft delete: inbox.disabled event" 1 "$(svc_psql "SELECT count(*) FROM postinbox.event WHERE inbox_id = '$S_ID' AND type = 'inbox.disabled'")"
t_eq "purge by an inbox key: 403" 403 "$(code "$(api DELETE "/v1/inboxes/$A1_ID?purge=true" "$KI")")"
t_eq "purge=maybe: 400" 400 "$(code "$(api DELETE "/v1/inboxes/$A1_ID?purge=maybe" "$KA")")"
t_eq "purge: 204" 204 "$(code "$(api DELETE "/v1/inboxes/$A1_ID?purge=true" "$KA")")"
t_eq "purge: inbox and history gone" "0 0 0" "$(svc_psql "SELECT (SELECT count(*) FROM postinbox.inbox WHERE id = '$A1_ID') || ' ' || (SELECT count(*) FROM postinbox.message WHERE inbox_id = '$A1_ID') || ' ' || (SELECT count(*) FROM postinbox.event WHERE inbox_id = '$A1_ID')")"
t_eq "purge: audited, inbox_id NULL, id kept" 1 "$(svc_psql "SELECT count(*) FROM postinbox.audit WHERE action = 'inbox.purge' AND inbox_id IS NULL AND old_value::jsonb->>'inboxId' = '$A1_ID'")"
t_eq "purge: the inbox's keys went with it" 401 "$(code "$(api GET /v1/inboxes "$KI")")"
t_eq "purged inbox: 404" 404 "$(code "$(api GET "/v1/inboxes/$A1_ID" "$KA")")"

# --- backends down ------------------------------------------------------------------------------
svc_stop_redis
r=$(api GET "/v1/inboxes/$A2_ID" "$KA")
t_eq "Redis down: 200 with usage null" "200 null null" "$(code "$r") $(body "$r" | json_get sendsToday) $(body "$r" | json_get remaining)"
svc_stop_pg
r=$(api GET /v1/inboxes "$KA")
t_eq "PostgreSQL down: 503 in the error format" "503 backend_unavailable" "$(code "$r") $(errcode "$r")"

pi_stop_policyd
t_match "stops cleanly on SIGTERM" 'stopped' "$(tail -1 "$SVC_DIR/policyd.log")"
t_summary
