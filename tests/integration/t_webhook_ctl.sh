#!/usr/bin/env bash
# test-timeout: 900
# t_webhook_ctl.sh -- `postinboxctl webhook ...` against a real PostgreSQL
# (and Redis, which the inbox commands read): endpoint add/list/show with
# their JSON shapes, secrets (format, never listed, rotation with grace),
# bad input (exit 2), disable/enable/delete with audit rows, the fan-out
# trigger's isolation (inbox vs account scope, other accounts, event
# filters, disabled endpoints), deliveries with their attempt log, and
# replay (counts, window, scope, NOTIFY).  Needs no Postfix and no milter.
set -u
here=$(dirname "$0")
# shellcheck source=common.sh
. "$here/common.sh"
pi_setup --no-postfix --no-milter

ctl_rc() {
    pi_ctl "$@" >/dev/null 2>&1
    echo $?
}
# py EXPR: evaluates EXPR with d = the JSON document on stdin
py() {
    python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}
# t_ne NAME A B: pass if the two strings differ
t_ne() {
    if [ "$2" != "$3" ]; then t_ok "$1"; else t_fail "$1" "both [$2]"; fi
}
# deliveries ENDPOINT: how many delivery rows the endpoint has
deliveries() {
    svc_psql "SELECT count(*) FROM postinbox.webhook_delivery WHERE endpoint_id = '$1'"
}
# event INBOX TYPE [CREATED_AT]: inserts an event, prints its id
event() {
    local at="now()"
    [ $# -ge 3 ] && at="'$3'::timestamptz"
    svc_psql "INSERT INTO postinbox.event (inbox_id, type, payload, created_at)
              VALUES ('$1', '$2', '{}', $at) RETURNING id"
}
ISO_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$'
UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'

A=$(pi_account Acme acme)
B=$(pi_account Beta beta)
read -r A1 A1_ADDR <<< "$(pi_inbox "$A" alice)"
read -r A2 _ <<< "$(pi_inbox "$A" bob)"
read -r B1 _ <<< "$(pi_inbox "$B" carol)"

# --- add --------------------------------------------------------------------
out=$(pi_ctl --json webhook add --inbox "$A1" --url https://hooks.example.test/a)
EA1=$(echo "$out" | json_get id)
SECRET1=$(echo "$out" | json_get secret)
t_eq "add: the object's keys" "['id', 'url', 'secret', 'events', 'enabled', 'inboxId', 'accountId', 'createdAt']" \
    "$(echo "$out" | py 'list(d)')"
t_match "add: id is a uuid" "$UUID_RE" "$EA1"
t_match "add: secret is whsec_ + base64" '^whsec_[A-Za-z0-9+/]{43}=$' "$SECRET1"
t_eq "add: secret decodes to 32 bytes" 32 \
    "$(python3 -c 'import base64, sys; print(len(base64.b64decode(sys.argv[1][6:], validate=True)))' "$SECRET1")"
STORED1=$(svc_psql "SELECT secret FROM postinbox.webhook_endpoint WHERE id = '$EA1'")
t_match "add: secret stored encrypted, v1:<key id>:<base64>" '^v1:[0-9a-f]{8}:[A-Za-z0-9+/]+=*$' "$STORED1"
t_eq "add: the row read with psql holds the secret in no form" 0 \
    "$(svc_psql "SELECT count(*) FROM postinbox.webhook_endpoint t
                  WHERE position('${SECRET1#whsec_}' in t::text) > 0 OR position('$SECRET1' in t::text) > 0")"
t_eq "add: the stored value opens to the secret with secret_key_file (Python AES-GCM)" "$SECRET1" \
    "$(pi_secret_open "$EA1" "$STORED1")"
t_eq "add: bound to its endpoint: under another id it does not open" "" \
    "$(pi_secret_open 00000000-0000-0000-0000-000000000000 "$STORED1" 2>/dev/null)"
t_eq "add: no events means all" "[]" "$(echo "$out" | json_get events)"
t_eq "add: stored as '{}'" "{}" "$(svc_psql "SELECT event_types FROM postinbox.webhook_endpoint WHERE id = '$EA1'")"
t_eq "add: enabled" true "$(echo "$out" | json_get enabled)"
t_eq "add: inboxId" "$A1" "$(echo "$out" | json_get inboxId)"
t_eq "add: accountId is the inbox's account" "$A" "$(echo "$out" | json_get accountId)"
t_match "add: createdAt" "$ISO_RE" "$(echo "$out" | json_get createdAt)"
out=$(pi_ctl --json webhook add --inbox "$A1" --url https://hooks.example.test/b)
t_match "two adds: two secrets" '^whsec_' "$(echo "$out" | json_get secret)"
t_ne "two adds: different secrets" "$SECRET1" "$(echo "$out" | json_get secret)"
EA1B=$(echo "$out" | json_get id)

out=$(pi_ctl --json webhook add --inbox "ALICE--ACME@$SANDBOX" --url 'HTTPS://hooks.example.test:8443/f?x=1' \
    --events 'inbox.suspended, message.received,message.received')
EA1F=$(echo "$out" | json_get id)
t_eq "add --inbox ADDRESS" "$A1" "$(echo "$out" | json_get inboxId)"
t_eq "add: scheme lower-cased, rest kept" "https://hooks.example.test:8443/f?x=1" "$(echo "$out" | json_get url)"
t_eq "add --events: deduplicated, in a fixed order" '["message.received", "inbox.suspended"]' \
    "$(echo "$out" | json_get events)"
out=$(pi_ctl --json webhook add --account "$A" --url https://hooks.example.test/acct)
EAACC=$(echo "$out" | json_get id)
t_eq "add --account: no inbox" null "$(echo "$out" | json_get inboxId)"
t_eq "add --account: accountId" "$A" "$(echo "$out" | json_get accountId)"
EB1=$(pi_ctl --json webhook add --inbox "$B1" --url https://hooks.example.test/b1 | json_get id)
EBACC=$(pi_ctl --json webhook add --account "$B" --url https://hooks.example.test/bacct | json_get id)
out=$(pi_ctl webhook add --account "$B" --url 'http://hooks.example.test:8080/h' 2>"$SVC_DIR/err")
t_match "add: human output shows the secret" $'\n''secret: whsec_' "$out"
t_match "add: human output says all events" $'\n''events: all'$'\n' "$out"
t_match "add http://: warning about webhook_allow_http" "webhook_allow_http" "$(cat "$SVC_DIR/err")"
EBHTTP=$(echo "$out" | sed -n 's/^id: //p')

# --- bad input ----------------------------------------------------------------
t_eq "url ftp://: exit 2" 2 "$(ctl_rc webhook add --inbox "$A1" --url ftp://hooks.example.test/)"
t_eq "url without scheme: exit 2" 2 "$(ctl_rc webhook add --inbox "$A1" --url hooks.example.test/x)"
t_eq "url without host: exit 2" 2 "$(ctl_rc webhook add --inbox "$A1" --url https:///x)"
t_eq "url https://: exit 2" 2 "$(ctl_rc webhook add --inbox "$A1" --url https://)"
t_eq "url with a space: exit 2" 2 "$(ctl_rc webhook add --inbox "$A1" --url 'https://hooks.example.test/a b')"
t_eq "url with a control character: exit 2" 2 "$(ctl_rc webhook add --inbox "$A1" --url $'https://hooks.example.test/\x01')"
t_eq "url with a newline: exit 2" 2 "$(ctl_rc webhook add --inbox "$A1" --url $'https://hooks.example.test/\nX: y')"
t_eq "url with non-ASCII: exit 2" 2 "$(ctl_rc webhook add --inbox "$A1" --url 'https://hooks.example.test/é')"
t_eq "url with credentials: exit 2" 2 "$(ctl_rc webhook add --inbox "$A1" --url https://u:p@hooks.example.test/)"
t_eq "url with port 99999: exit 2" 2 "$(ctl_rc webhook add --inbox "$A1" --url https://hooks.example.test:99999/)"
t_eq "url with an empty port: exit 2" 2 "$(ctl_rc webhook add --inbox "$A1" --url https://hooks.example.test:/)"
long="https://hooks.example.test/$(printf 'x%.0s' $(seq 1 2030))"
t_eq "url of 2056 bytes: exit 2" 2 "$(ctl_rc webhook add --inbox "$A1" --url "$long")"
t_eq "url of 2048 bytes: accepted" 0 "$(ctl_rc webhook add --inbox "$A2" --url "${long:0:2048}")"
t_eq "unknown event type: exit 2" 2 "$(ctl_rc webhook add --inbox "$A1" --url https://h.test/ --events message.bogus)"
t_eq "event type in capitals: exit 2" 2 "$(ctl_rc webhook add --inbox "$A1" --url https://h.test/ --events Message.Sent)"
t_eq "event type of another family: exit 2" 2 "$(ctl_rc webhook add --inbox "$A1" --url https://h.test/ --events webhook.disabled)"
t_eq "trailing comma in --events: exit 2" 2 "$(ctl_rc webhook add --inbox "$A1" --url https://h.test/ --events message.sent,)"
t_eq "empty item in --events: exit 2" 2 "$(ctl_rc webhook add --inbox "$A1" --url https://h.test/ --events message.sent,,message.opened)"
t_eq "--inbox and --account: exit 2" 2 "$(ctl_rc webhook add --inbox "$A1" --account "$A" --url https://h.test/)"
t_eq "neither --inbox nor --account: exit 2" 2 "$(ctl_rc webhook add --url https://h.test/)"
t_eq "no --url: exit 2" 2 "$(ctl_rc webhook add --inbox "$A1")"
t_eq "--account not a uuid: exit 2" 2 "$(ctl_rc webhook add --account acme --url https://h.test/)"
t_eq "unknown account: exit 1" 1 "$(ctl_rc webhook add --account 00000000-0000-0000-0000-000000000000 --url https://h.test/)"
t_eq "unknown inbox: exit 1" 1 "$(ctl_rc webhook add --inbox nobody@acme.test --url https://h.test/)"
# literal private addresses, however spelled, refused at once (exit 2), naming the address and the key
for spec in "127.0.0.1|127.0.0.1" "127.1|127.0.0.1" "2130706433|127.0.0.1" "0x7f.1|127.0.0.1" \
    "0177.0.0.1|127.0.0.1" "10.1.2.3|10.1.2.3" "169.254.169.254|169.254.169.254" "0.0.0.0|0.0.0.0" \
    "[::1]|::1" "[::ffff:127.0.0.1]|::ffff:127.0.0.1" "[::127.0.0.1]|::127.0.0.1" \
    "[64:ff9b::7f00:1]|64:ff9b::7f00:1" "[2002:7f00:1::]|2002:7f00:1::" "[fd00::1]|fd00::1" "[fe80::1]|fe80::1"; do
    host=${spec%%|*}
    rc=0
    err=$(pi_ctl webhook add --inbox "$A1" --url "https://$host:8443/x" 2>&1 >/dev/null) || rc=$?
    t_eq "url https://$host: exit 2" 2 "$rc"
    t_match "url https://$host: the message names ${spec#*|} and webhook_allow_networks" \
        "${spec#*|} is a [a-z-]+ address.*webhook_allow_networks" "$err"
done
t_eq "bad input wrote nothing" 8 "$(svc_psql "SELECT count(*) FROM postinbox.webhook_endpoint")"
t_eq "show with a non-uuid: exit 2" 2 "$(ctl_rc webhook show nope)"
t_eq "show unknown endpoint: exit 1" 1 "$(ctl_rc webhook show 00000000-0000-0000-0000-000000000000)"

# --- list and show never show a secret --------------------------------------------
out=$(pi_ctl --json webhook list)
t_eq "list: total" 8 "$(echo "$out" | json_get total)"
t_eq "list: no secret member" False "$(echo "$out" | py 'any("secret" in e or "previousSecret" in e for e in d["data"])')"
t_eq "list: no whsec_ anywhere" 0 "$(echo "$out" | grep -c whsec_)"
t_eq "list: human output has no whsec_" 0 "$(pi_ctl webhook list | grep -c whsec_)"
t_eq "list --inbox: that inbox's endpoints" 3 "$(pi_ctl --json webhook list --inbox "$A1" | json_get total)"
t_eq "list --account: inbox and account-wide endpoints" 5 "$(pi_ctl --json webhook list --account "$A" | json_get total)"
t_eq "list --inbox --account of another account" 0 \
    "$(pi_ctl --json webhook list --inbox "$A1" --account "$B" | json_get total)"
t_eq "list --limit 2" 2 "$(pi_ctl --json webhook list --limit 2 | py 'len(d["data"])')"
t_eq "list --limit 0: exit 2" 2 "$(ctl_rc webhook list --limit 0)"
out=$(pi_ctl --json webhook show "$EA1F")
t_eq "show: keys" "['id', 'url', 'events', 'enabled', 'disabledReason', 'failingSince', 'inboxId', 'inboxAddress', 'accountId', 'previousSecretExpiresAt', 'createdAt', 'updatedAt', 'deliveries']" \
    "$(echo "$out" | py 'list(d)')"
t_eq "show: inboxAddress" "$A1_ADDR" "$(echo "$out" | json_get inboxAddress)"
t_eq "show: delivery counts" '{"pending": 0, "delivered": 0, "failed": 0}' "$(echo "$out" | json_get deliveries)"
t_eq "show: no whsec_" 0 "$(pi_ctl webhook show "$EA1" | grep -c whsec_)"

# --- fan-out: each endpoint gets its scope's events only ----------------------------
pi_ctl inbox suspend "$A1" --reason test > /dev/null   # inbox.suspended for A1
t_eq "A1 suspended: A1's endpoint" 1 "$(deliveries "$EA1")"
t_eq "A1 suspended: A1's filtered endpoint (inbox.suspended)" 1 "$(deliveries "$EA1F")"
t_eq "A1 suspended: A's account-wide endpoint" 1 "$(deliveries "$EAACC")"
t_eq "A1 suspended: nothing for B's inbox endpoint" 0 "$(deliveries "$EB1")"
t_eq "A1 suspended: nothing for B's account-wide endpoint" 0 "$(deliveries "$EBACC")"
event "$A1" message.sent > /dev/null
t_eq "A1 message.sent: A1's endpoint" 2 "$(deliveries "$EA1")"
t_eq "A1 message.sent: filter honoured" 1 "$(deliveries "$EA1F")"
t_eq "A1 message.sent: account-wide" 2 "$(deliveries "$EAACC")"
pi_ctl inbox suspend "$A2" > /dev/null
t_eq "A2 event: not for A1's endpoints" "2 1" "$(deliveries "$EA1") $(deliveries "$EA1F")"
t_eq "A2 event: A's account-wide endpoint" 3 "$(deliveries "$EAACC")"
event "$B1" message.received > /dev/null
t_eq "B1 event: B's endpoints" "1 1 1" "$(deliveries "$EB1") $(deliveries "$EBACC") $(deliveries "$EBHTTP")"
t_eq "B1 event: none of A's" "2 1 3" "$(deliveries "$EA1") $(deliveries "$EA1F") $(deliveries "$EAACC")"
t_eq "every delivery carries its event's inbox" 0 \
    "$(svc_psql "SELECT count(*) FROM postinbox.webhook_delivery d JOIN postinbox.event v ON v.id = d.event_id
                 WHERE d.inbox_id <> v.inbox_id")"
t_eq "no delivery outside its endpoint's scope" 0 \
    "$(svc_psql "SELECT count(*) FROM postinbox.webhook_delivery d
                 JOIN postinbox.webhook_endpoint e ON e.id = d.endpoint_id
                 JOIN postinbox.inbox i ON i.id = d.inbox_id
                 WHERE coalesce(e.inbox_id, i.id) <> i.id OR e.account_id <> i.account_id")"

# inbox.webhook_disabled: a type with an underscore (sql/migrations/002 widens the CHECK)
EWD=$(pi_ctl --json webhook add --inbox "$A2" --url https://h.test/wd --events inbox.webhook_disabled | json_get id)
t_match "inbox.webhook_disabled event accepted" "$UUID_RE" "$(event "$A2" inbox.webhook_disabled)"
t_eq "inbox.webhook_disabled fanned out to its subscriber" 1 "$(deliveries "$EWD")"
t_eq "events --type inbox.webhook_disabled" 1 "$(pi_ctl --json events "$A2" --type inbox.webhook_disabled | json_get total)"
t_eq "event type with a double underscore still refused" 1 \
    "$(svc_psql "INSERT INTO postinbox.event (inbox_id, type, payload) VALUES ('$A2', 'inbox.a__b', '{}')" >/dev/null 2>&1; echo $?)"

# --- deliveries ------------------------------------------------------------------------
D1=$(svc_psql "SELECT d.id FROM postinbox.webhook_delivery d JOIN postinbox.event v ON v.id = d.event_id
               WHERE d.endpoint_id = '$EA1' AND v.type = 'inbox.suspended'")
svc_psql "INSERT INTO postinbox.webhook_attempt (delivery_id, inbox_id, attempt, status_code, latency_ms, error)
          VALUES ($D1, '$A1', 1, 500, 120, 'HTTP 500'), ($D1, '$A1', 2, NULL, 15000, 'timed out'),
                 ($D1, '$A1', 3, 204, 80, NULL);
          UPDATE postinbox.webhook_delivery SET status = 'delivered', attempts = 3, last_status_code = 204,
                 last_latency_ms = 80, delivered_at = now() WHERE id = $D1"
out=$(pi_ctl --json webhook deliveries "$EA1")
t_eq "deliveries: total" 2 "$(echo "$out" | json_get total)"
t_eq "deliveries: newest first" "message.sent inbox.suspended" \
    "$(echo "$out" | py '" ".join(x["eventType"] for x in d["data"])')"
t_eq "deliveries: keys" "['id', 'eventId', 'eventType', 'status', 'attempts', 'nextAttemptAt', 'lastStatusCode', 'lastError', 'lastLatencyMs', 'deliveredAt', 'createdAt', 'attemptsLog']" \
    "$(echo "$out" | py 'list(d["data"][1])')"
t_eq "deliveries: the delivered one" "delivered 3 204 80" \
    "$(echo "$out" | py '" ".join(str(d["data"][1][k]) for k in ("status", "attempts", "lastStatusCode", "lastLatencyMs"))')"
t_eq "deliveries: attemptsLog in order" "[(1, 500, 120, 'HTTP 500'), (2, None, 15000, 'timed out'), (3, 204, 80, None)]" \
    "$(echo "$out" | py '[(a["attempt"], a["statusCode"], a["latencyMs"], a["error"]) for a in d["data"][1]["attemptsLog"]]')"
t_match "deliveries: attempt createdAt" "$ISO_RE" "$(echo "$out" | json_get data.1.attemptsLog.0.createdAt)"
t_eq "deliveries: a pending one has an empty log" "pending []" \
    "$(echo "$out" | py 'd["data"][0]["status"] + " " + json.dumps(d["data"][0]["attemptsLog"])')"
t_eq "deliveries --status delivered" 1 "$(pi_ctl --json webhook deliveries "$EA1" --status delivered | json_get total)"
t_eq "deliveries --status pending" message.sent \
    "$(pi_ctl --json webhook deliveries "$EA1" --status pending | json_get data.0.eventType)"
t_eq "deliveries --status bogus: exit 2" 2 "$(ctl_rc webhook deliveries "$EA1" --status bogus)"
t_eq "deliveries of an unknown endpoint: exit 1" 1 "$(ctl_rc webhook deliveries 00000000-0000-0000-0000-000000000000)"
t_match "deliveries: human table" 'delivered +3 +204' "$(pi_ctl webhook deliveries "$EA1")"

# --- rotate-secret -----------------------------------------------------------------------
out=$(pi_ctl --json webhook rotate-secret "$EA1")
SECRET2=$(echo "$out" | json_get secret)
t_eq "rotate: keys" "['id', 'secret', 'previousSecretExpiresAt']" "$(echo "$out" | py 'list(d)')"
t_match "rotate: new secret format" '^whsec_[A-Za-z0-9+/]{43}=$' "$SECRET2"
t_ne "rotate: a new secret" "$SECRET1" "$SECRET2"
t_eq "rotate: stored secret and previous secret open to the new and the old one" "$SECRET2|$SECRET1" \
    "$(pi_secret_open "$EA1" "$(svc_psql "SELECT secret FROM postinbox.webhook_endpoint WHERE id = '$EA1'")")|$(
       pi_secret_open "$EA1" "$(svc_psql "SELECT previous_secret FROM postinbox.webhook_endpoint WHERE id = '$EA1'")")"
t_eq "rotate: both stored encrypted" "t|t" \
    "$(svc_psql "SELECT secret LIKE 'v1:%', previous_secret LIKE 'v1:%' FROM postinbox.webhook_endpoint WHERE id = '$EA1'")"
t_eq "rotate: previous secret valid for the default 24h" t \
    "$(svc_psql "SELECT previous_secret_expires_at - now() BETWEEN interval '23h 59m' AND interval '24h'
                 FROM postinbox.webhook_endpoint WHERE id = '$EA1'")"
t_eq "rotate: printed expiry is the stored one" t \
    "$(svc_psql "SELECT abs(extract(epoch FROM previous_secret_expires_at - '$(echo "$out" | json_get previousSecretExpiresAt)'::timestamptz)) < 0.001
                 FROM postinbox.webhook_endpoint WHERE id = '$EA1'")"
t_eq "show after rotate: expiry, no secret" "$(echo "$out" | json_get previousSecretExpiresAt) 0" \
    "$(pi_ctl --json webhook show "$EA1" | json_get previousSecretExpiresAt) $(pi_ctl webhook show "$EA1" | grep -c whsec_)"
pi_write_conf "webhook_rotation_grace = 90m"
pi_ctl webhook rotate-secret "$EA1" > /dev/null
t_eq "rotate with webhook_rotation_grace = 90m" "$SECRET2|t" \
    "$(pi_secret_open "$EA1" "$(svc_psql "SELECT previous_secret FROM postinbox.webhook_endpoint WHERE id = '$EA1'")")|$(svc_psql "SELECT previous_secret_expires_at - now() BETWEEN interval '89m' AND interval '90m'
                 FROM postinbox.webhook_endpoint WHERE id = '$EA1'")"
pi_write_conf "webhook_rotation_grace = 0s"
out=$(pi_ctl --json webhook rotate-secret "$EA1B")
t_eq "rotate with no grace: old secret dropped" "|" \
    "$(svc_psql "SELECT previous_secret, previous_secret_expires_at FROM postinbox.webhook_endpoint WHERE id = '$EA1B'")"
t_eq "rotate with no grace: previousSecretExpiresAt null" null "$(echo "$out" | json_get previousSecretExpiresAt)"
pi_write_conf
t_eq "rotate unknown endpoint: exit 1" 1 "$(ctl_rc webhook rotate-secret 00000000-0000-0000-0000-000000000000)"
t_eq "rotate: audit rows" 3 "$(svc_psql "SELECT count(*) FROM postinbox.audit WHERE action = 'webhook.rotate'")"
t_eq "rotate: audit row names the endpoint and inbox" "$A1" \
    "$(svc_psql "SELECT DISTINCT inbox_id FROM postinbox.audit WHERE action = 'webhook.rotate' AND new_value::jsonb->>'endpointId' = '$EA1'")"

# --- disable / enable ----------------------------------------------------------------------
out=$(pi_ctl --json webhook disable "$EA1" --reason "HTTP 500s since Monday")
t_eq "disable: enabled false" false "$(echo "$out" | json_get enabled)"
t_eq "disable: reason" "HTTP 500s since Monday" "$(echo "$out" | json_get disabledReason)"
t_eq "disable: audit row" "$A1|{\"enabled\": true, \"endpointId\": \"$EA1\", \"disabledReason\": null}|{\"enabled\": false, \"endpointId\": \"$EA1\", \"disabledReason\": \"HTTP 500s since Monday\"}|HTTP 500s since Monday" \
    "$(svc_psql "SELECT inbox_id, old_value, new_value, reason FROM postinbox.audit WHERE action = 'webhook.disable'")"
t_match "disable: audit actor" '^postinboxctl:' "$(svc_psql "SELECT actor FROM postinbox.audit WHERE action = 'webhook.disable'")"
t_match "disable twice: warning" "already disabled" "$(pi_ctl webhook disable "$EA1" 2>&1 >/dev/null)"
t_eq "disable twice: one audit row" 1 "$(svc_psql "SELECT count(*) FROM postinbox.audit WHERE action = 'webhook.disable'")"
before=$(deliveries "$EA1")
event "$A1" message.received > /dev/null
t_eq "disabled endpoint gets no deliveries" "$before" "$(deliveries "$EA1")"
t_eq "replay on a disabled endpoint: exit 1" 1 "$(ctl_rc webhook replay --endpoint "$EA1")"
t_match "replay on a disabled endpoint: says so" "disabled; enable it first" \
    "$(pi_ctl webhook replay --endpoint "$EA1" 2>&1 >/dev/null)"
t_eq "default reason names the actor" "disabled by postinboxctl:" \
    "$(pi_ctl --json webhook disable "$EA1B" | json_get disabledReason | cut -c1-25)"
svc_psql "UPDATE postinbox.webhook_endpoint SET failing_since = now() - interval '1 day' WHERE id = '$EA1'"
out=$(pi_ctl --json webhook enable "$EA1")
t_eq "enable: enabled, reason and failingSince cleared" "True None None" \
    "$(echo "$out" | py '" ".join(str(d[k]) for k in ("enabled", "disabledReason", "failingSince"))')"
t_eq "enable: audit row" "$A1|webhook.enable" \
    "$(svc_psql "SELECT inbox_id, action FROM postinbox.audit WHERE action = 'webhook.enable'")"
t_match "enable twice: warning" "already enabled" "$(pi_ctl webhook enable "$EA1" 2>&1 >/dev/null)"
t_eq "disable unknown endpoint: exit 1" 1 "$(ctl_rc webhook disable 00000000-0000-0000-0000-000000000000)"
t_eq "disable with a non-uuid: exit 2" 2 "$(ctl_rc webhook disable "$A1_ADDR")"
t_eq "account-wide disable: audit row without inbox" "|webhook.disable" \
    "$(pi_ctl webhook disable "$EBHTTP" >/dev/null; svc_psql "SELECT inbox_id, action FROM postinbox.audit WHERE action = 'webhook.disable'
                                                  AND new_value::jsonb->>'endpointId' = '$EBHTTP'")"

# --- replay ------------------------------------------------------------------------------------
# EA1 has 2 deliveries (one delivered); the message.received written while
# it was disabled has none.
svc_psql "UPDATE postinbox.webhook_delivery SET lease_until = now() + interval '1 minute', attempts = 2,
          next_attempt_at = now() + interval '1 hour' WHERE endpoint_id = '$EA1' AND status = 'pending'"
t_eq "replay: requeues 2, adds the missed one" 3 "$(pi_ctl --json webhook replay --endpoint "$EA1" | json_get requeued)"
t_eq "replay: all pending, due, unleased, 0 attempts" "3|3|0" \
    "$(svc_psql "SELECT count(*) FILTER (WHERE status = 'pending' AND attempts = 0 AND lease_until IS NULL
                                         AND delivered_at IS NULL),
                        count(*) FILTER (WHERE next_attempt_at <= now()), count(*) FILTER (WHERE status <> 'pending')
                 FROM postinbox.webhook_delivery WHERE endpoint_id = '$EA1'")"
t_eq "replay: attempt log kept" 3 "$(svc_psql "SELECT count(*) FROM postinbox.webhook_attempt WHERE delivery_id = $D1")"
t_eq "replay: human output" "requeued: 3" "$(pi_ctl webhook replay --endpoint "$EA1")"

# an endpoint added after the events gets them on replay, and only its scope's
ELATE=$(pi_ctl --json webhook add --inbox "$A1" --url https://h.test/late | json_get id)
n_a1=$(svc_psql "SELECT count(*) FROM postinbox.event WHERE inbox_id = '$A1'")
t_eq "late endpoint: no deliveries yet" 0 "$(deliveries "$ELATE")"
t_eq "late endpoint: replay inserts A1's events" "$n_a1" "$(pi_ctl --json webhook replay --endpoint "$ELATE" | json_get requeued)"
t_eq "late endpoint: only A1's events" 0 \
    "$(svc_psql "SELECT count(*) FROM postinbox.webhook_delivery d JOIN postinbox.event v ON v.id = d.event_id
                 WHERE d.endpoint_id = '$ELATE' AND v.inbox_id <> '$A1'")"
ELATEACC=$(pi_ctl --json webhook add --account "$A" --url https://h.test/lateacc --events inbox.suspended | json_get id)
t_eq "late account-wide filtered endpoint: A's inbox.suspended events only" 2 \
    "$(pi_ctl --json webhook replay --endpoint "$ELATEACC" | json_get requeued)"
t_eq "late account-wide endpoint: none of B's" 0 \
    "$(svc_psql "SELECT count(*) FROM postinbox.webhook_delivery WHERE endpoint_id = '$ELATEACC' AND inbox_id = '$B1'")"
t_eq "replay again: same rows re-queued, none added" "2 2" \
    "$(pi_ctl --json webhook replay --endpoint "$ELATEACC" | json_get requeued) $(deliveries "$ELATEACC")"

# the window [since, until) on event created_at
for day in 01 02 03 04; do event "$B1" message.opened "2020-01-${day}T12:00:00Z" > /dev/null; done
EWIN=$(pi_ctl --json webhook add --inbox "$B1" --url https://h.test/win --events message.opened | json_get id)
t_eq "replay --since --until" 2 \
    "$(pi_ctl --json webhook replay --endpoint "$EWIN" --since 2020-01-02 --until 2020-01-04T12:00:00Z | json_get requeued)"
t_eq "replay window: the right events" "2020-01-02|2020-01-03" \
    "$(svc_psql "SELECT string_agg(to_char(v.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), '|' ORDER BY v.created_at)
                 FROM postinbox.webhook_delivery d JOIN postinbox.event v ON v.id = d.event_id WHERE d.endpoint_id = '$EWIN'")"
t_eq "replay --until alone" 1 "$(pi_ctl --json webhook replay --endpoint "$EWIN" --until 2020-01-02T12:00:00.000Z | json_get requeued)"
t_eq "replay --since with an offset" 1 \
    "$(pi_ctl --json webhook replay --endpoint "$EWIN" --since '2020-01-04T13:00:00+01:00' | json_get requeued)"
t_eq "replay of an empty window" 0 "$(pi_ctl --json webhook replay --endpoint "$EWIN" --since 2030-01-01 | json_get requeued)"
t_eq "replay --since yesterday: exit 2" 2 "$(ctl_rc webhook replay --endpoint "$EWIN" --since yesterday)"
t_eq "replay --since month 13: exit 2" 2 "$(ctl_rc webhook replay --endpoint "$EWIN" --since 2024-13-01T00:00:00Z)"
t_eq "replay --since Feb 30: exit 2" 2 "$(ctl_rc webhook replay --endpoint "$EWIN" --since 2024-02-30)"
t_match "replay --since Feb 30: a date that does not exist is refused before PostgreSQL" "not an ISO-8601 timestamp" \
    "$(pi_ctl webhook replay --endpoint "$EWIN" --since 2024-02-30 2>&1 >/dev/null)"
t_eq "replay --until with SQL in it: exit 2" 2 "$(ctl_rc webhook replay --endpoint "$EWIN" --until "2020-01-01'; DROP TABLE postinbox.event; --")"
t_eq "replay --since after --until: exit 2" 2 "$(ctl_rc webhook replay --endpoint "$EWIN" --since 2020-01-03 --until 2020-01-02)"
t_eq "replay without --endpoint: exit 2" 2 "$(ctl_rc webhook replay)"
t_eq "replay of an unknown endpoint: exit 1" 1 "$(ctl_rc webhook replay --endpoint 00000000-0000-0000-0000-000000000000)"
t_eq "replay: audit rows" 9 "$(svc_psql "SELECT count(*) FROM postinbox.audit WHERE action = 'webhook.replay'")"

# replay wakes the dispatchers: NOTIFY postinbox_webhook at commit
"$(_svc_pg_bindir)/psql" -X -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postinbox \
    -c "LISTEN postinbox_webhook" -c "SELECT pg_sleep(3)" > "$SVC_DIR/listen.out" 2>&1 &
listener=$!
sleep 1
pi_ctl webhook replay --endpoint "$EWIN" > /dev/null
wait "$listener"
t_match "replay: NOTIFY postinbox_webhook" 'Asynchronous notification "postinbox_webhook"' "$(cat "$SVC_DIR/listen.out")"

# --- delete ------------------------------------------------------------------------------------
n=$(deliveries "$EA1")
out=$(pi_ctl --json webhook delete "$EA1" --reason "customer left")
t_eq "delete: result" "{\"id\": \"$EA1\", \"deleted\": true, \"deliveriesDeleted\": $n}" \
    "$(echo "$out" | py 'json.dumps(d)')"
t_eq "delete: endpoint, deliveries and attempts gone" "0|0|0" \
    "$(svc_psql "SELECT (SELECT count(*) FROM postinbox.webhook_endpoint WHERE id = '$EA1'),
                        (SELECT count(*) FROM postinbox.webhook_delivery WHERE endpoint_id = '$EA1'),
                        (SELECT count(*) FROM postinbox.webhook_attempt WHERE delivery_id = $D1)")"
t_eq "delete: events kept" "$n_a1" "$(svc_psql "SELECT count(*) FROM postinbox.event WHERE inbox_id = '$A1'")"
t_eq "delete: audit row" "$A1|customer left|https://hooks.example.test/a" \
    "$(svc_psql "SELECT inbox_id, reason, old_value::jsonb->>'url' FROM postinbox.audit WHERE action = 'webhook.delete'")"
t_eq "delete again: exit 1" 1 "$(ctl_rc webhook delete "$EA1")"
t_eq "show deleted: exit 1" 1 "$(ctl_rc webhook show "$EA1")"

# --- secrets never reach the audit table or stderr ---------------------------------------------
t_eq "no secret in the audit table" 0 "$(svc_psql "SELECT count(*) FROM postinbox.audit WHERE concat(old_value, new_value, reason) LIKE '%whsec_%'")"
t_eq "audit: add rows" 12 "$(svc_psql "SELECT count(*) FROM postinbox.audit WHERE action = 'webhook.add'")"

# --- update: the same URL checks as add --------------------------------------------------------
rc=0
err=$(pi_ctl webhook update "$EB1" --url https://127.1/x 2>&1 >/dev/null) || rc=$?
t_eq "update --url https://127.1: exit 2" 2 "$rc"
t_match "update --url https://127.1: names 127.0.0.1 and the key" '127\.0\.0\.1 is a loopback address.*webhook_allow_networks' "$err"
t_eq "update --url [64:ff9b::7f00:1]: exit 2" 2 "$(ctl_rc webhook update "$EB1" --url 'https://[64:ff9b::7f00:1]/x')"
t_eq "refused update changed nothing" https://hooks.example.test/b1 \
    "$(svc_psql "SELECT url FROM postinbox.webhook_endpoint WHERE id = '$EB1'")"
t_eq "update --url with a name and --events" "https://hooks2.example.test/b1|{message.sent}" \
    "$(pi_ctl webhook update "$EB1" --url https://hooks2.example.test/b1 --events message.sent >/dev/null;
       svc_psql "SELECT url, event_types FROM postinbox.webhook_endpoint WHERE id = '$EB1'")"
t_eq "update --url with a public literal: accepted" 0 "$(ctl_rc webhook update "$EB1" --url https://192.0.3.1/x)"
t_eq "update without --url or --events: exit 2" 2 "$(ctl_rc webhook update "$EB1")"
t_eq "update unknown endpoint: exit 1" 1 "$(ctl_rc webhook update 00000000-0000-0000-0000-000000000000 --url https://h.test/)"
# webhook_allow_networks opens exactly what it lists, port included
pi_write_conf "webhook_allow_networks = 127.0.0.1:8443, [::1]:9000"
t_eq "allow 127.0.0.1:8443: https://127.0.0.1:8443 accepted" 0 \
    "$(ctl_rc webhook update "$EB1" --url https://127.0.0.1:8443/x)"
t_eq "allow 127.0.0.1:8443: https://127.1:8443 accepted (same address)" 0 \
    "$(ctl_rc webhook update "$EB1" --url https://127.1:8443/x)"
t_eq "allow 127.0.0.1:8443: https://127.0.0.1 (port 443) refused" 2 "$(ctl_rc webhook update "$EB1" --url https://127.0.0.1/x)"
t_eq "allow 127.0.0.1:8443: [::127.0.0.1]:8443 refused" 2 \
    "$(ctl_rc webhook update "$EB1" --url 'https://[::127.0.0.1]:8443/x')"
t_eq "allow 127.0.0.1:8443: [2002:7f00:1::]:8443 refused" 2 \
    "$(ctl_rc webhook update "$EB1" --url 'https://[2002:7f00:1::]:8443/x')"
t_eq "allow [::1]:9000: http://[::1]:9000 accepted" 0 "$(ctl_rc webhook update "$EB1" --url 'http://[::1]:9000/x')"
pi_write_conf

# --- without a usable key nothing is sealed, so nothing is added or rotated ------------------------
n_ep=$(svc_psql "SELECT count(*) FROM postinbox.webhook_endpoint")
NOKEY_CONF=$SVC_DIR/nokey.conf
grep -v '^secret_key_file' "$PI_CONF" >"$NOKEY_CONF"
rc=0
err=$("$PI_CTL" -c "$NOKEY_CONF" webhook add --inbox "$A2" --url https://hooks.example.test/nokey 2>&1 >/dev/null) || rc=$?
t_eq "no secret_key_file: add exit 1" 1 "$rc"
t_match "no secret_key_file: the message names the key" 'secret_key_file is not set' "$err"
t_eq "no secret_key_file: rotate exit 1" 1 "$("$PI_CTL" -c "$NOKEY_CONF" webhook rotate-secret "$EB1" >/dev/null 2>&1; echo $?)"
cp "$PI_SECRET_KEY" "$SVC_DIR/open.key"
chmod 0644 "$SVC_DIR/open.key"
OPENKEY_CONF=$SVC_DIR/openkey.conf
{ cat "$NOKEY_CONF"; echo "secret_key_file = $SVC_DIR/open.key"; } >"$OPENKEY_CONF"
rc=0
err=$("$PI_CTL" -c "$OPENKEY_CONF" webhook add --inbox "$A2" --url https://hooks.example.test/openkey 2>&1 >/dev/null) || rc=$?
t_eq "secret_key_file of mode 0644: add exit 1" 1 "$rc"
t_match "secret_key_file of mode 0644: the message names the file and its mode" "open.key: mode 0644" "$err"
t_eq "no usable key: nothing written" "$n_ep" "$(svc_psql "SELECT count(*) FROM postinbox.webhook_endpoint")"
t_eq "no usable key: read commands still work" 0 "$("$PI_CTL" -c "$NOKEY_CONF" webhook list >/dev/null 2>&1; echo $?)"

# --- encrypt-secrets: plaintext rows of older installs, then a key rotation ----------------------------
LEGACY=whsec_$(head -c 32 /dev/urandom | base64)
LEGACY_PREV=whsec_$(head -c 32 /dev/urandom | base64)
EL=$(svc_psql "INSERT INTO postinbox.webhook_endpoint (account_id, inbox_id, url, secret, previous_secret, previous_secret_expires_at)
               VALUES ('$A', '$A2', 'https://hooks.example.test/legacy', '$LEGACY', '$LEGACY_PREV', now() + interval '1 hour') RETURNING id")
t_eq "a plaintext row of an older install is accepted by the schema" 36 "${#EL}"
out=$(pi_ctl --json webhook encrypt-secrets)
t_eq "encrypt-secrets: the plaintext row encrypted, nothing failed" "1 0" \
    "$(echo "$out" | json_get encrypted) $(echo "$out" | json_get failed)"
t_eq "encrypt-secrets: no whsec_ left in webhook_endpoint" 0 \
    "$(svc_psql "SELECT count(*) FROM postinbox.webhook_endpoint WHERE concat(secret, previous_secret) LIKE '%whsec_%'")"
t_eq "encrypt-secrets: both values open to what they were" "$LEGACY|$LEGACY_PREV" \
    "$(pi_secret_open "$EL" "$(svc_psql "SELECT secret FROM postinbox.webhook_endpoint WHERE id = '$EL'")")|$(
       pi_secret_open "$EL" "$(svc_psql "SELECT previous_secret FROM postinbox.webhook_endpoint WHERE id = '$EL'")")"
t_eq "encrypt-secrets again: nothing to do" 0 "$(pi_ctl --json webhook encrypt-secrets | json_get encrypted)"
# rotation of the key: the current key becomes secret_key_file_old, a new one is made
OLD_KEY=$SVC_DIR/secret.key.old
mv "$PI_SECRET_KEY" "$OLD_KEY"
(umask 077 && head -c 32 /dev/urandom | base64 >"$PI_SECRET_KEY")
pi_write_conf "secret_key_file_old = $OLD_KEY"
sealed_before=$(svc_psql "SELECT count(*) FROM postinbox.webhook_endpoint")
out=$(pi_ctl --json webhook encrypt-secrets)
t_eq "key rotation: encrypt-secrets moves every endpoint to the new key" "$sealed_before 0" \
    "$(echo "$out" | json_get encrypted) $(echo "$out" | json_get failed)"
t_eq "key rotation: every value names the new key" 0 \
    "$(svc_psql "SELECT count(*) FROM postinbox.webhook_endpoint
                  WHERE secret NOT LIKE 'v1:$(echo "$out" | json_get keyId):%'
                     OR previous_secret NOT LIKE 'v1:$(echo "$out" | json_get keyId):%'")"
t_eq "key rotation: values open with the new key alone (base64 key file)" "$LEGACY" \
    "$(pi_secret_open "$EL" "$(svc_psql "SELECT secret FROM postinbox.webhook_endpoint WHERE id = '$EL'")")"
pi_write_conf
t_eq "key rotation: without the old key, nothing left to move" "0 0" \
    "$(out=$(pi_ctl --json webhook encrypt-secrets); echo "$(echo "$out" | json_get encrypted) $(echo "$out" | json_get failed)")"
# a value sealed with a key nobody has: reported, exit 1, the row untouched
svc_psql "UPDATE postinbox.webhook_endpoint SET secret = 'v1:00000000:AAAA' WHERE id = '$EL'" >/dev/null
rc=0
err=$(pi_ctl webhook encrypt-secrets 2>&1) || rc=$?
t_eq "encrypt-secrets with a value of an unknown key: exit 1" 1 "$rc"
t_match "encrypt-secrets with a value of an unknown key: says which key" 'key 00000000' "$err"
t_eq "encrypt-secrets never prints a secret" 0 "$(echo "$err" | grep -c whsec_)"

t_summary
