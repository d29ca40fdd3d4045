#!/usr/bin/env bash
# t_ctl.sh -- postinboxctl against a real PostgreSQL and Redis: migrate
# (idempotent, concurrent), every command, the JSON shapes, the exit
# status of every error path, and the rows a status change leaves.
# Meant to live in tests/integration/ (it also runs from ctl/, finding
# common.sh there); needs no Postfix and no milter.
set -u
here=$(dirname "$0")
if [ -f "$here/common.sh" ]; then
    . "$here/common.sh"
else
    . "$here/../tests/integration/common.sh"
fi
pi_setup --no-postfix --no-milter --no-migrate

# ctl_rc ARGS...: exit status only
ctl_rc() {
    pi_ctl "$@" >/dev/null 2>&1
    echo $?
}

# --- migrate --------------------------------------------------------------
# Every migration of sql/migrations, in order, then every definition file
# of sql/functions, in name order.
MIGRATIONS=$(cd "$PI_SRCDIR/sql/migrations" && ls [0-9]*.sql | sed 's/\.sql$//')
DEFINITIONS=$(cd "$PI_SRCDIR/sql/functions" && ls ./*.sql | sed 's|^\./||; s/\.sql$//')
LAST_VERSION=$(echo "$MIGRATIONS" | tail -n 1 | sed 's/_.*//; s/^0*//')
t_eq "migrate on an empty database" "$(echo "$MIGRATIONS" | sed 's/^/applied /')
$(echo "$DEFINITIONS" | sed 's|^|applied functions/|')
granted runtime privileges to postinbox_app" "$(pi_ctl migrate)"
t_eq "migrate again is a no-op" "schema up to date" "$(pi_ctl migrate)"
t_eq "migrate --json" "{\"applied\": [], \"definitions\": [], \"version\": $LAST_VERSION}" \
    "$(pi_ctl --json migrate | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))')"
svc_psql "CREATE DATABASE race OWNER postinbox_owner" >/dev/null
sed "s/dbname=postinbox/dbname=race/" "$PI_CONF" > "$SVC_DIR/race.conf"
pids=()
for _ in 1 2 3 4 5; do "$PI_CTL" -c "$SVC_DIR/race.conf" migrate > /dev/null & pids+=($!); done
wait "${pids[@]}"
t_eq "5 concurrent migrates apply each migration once" "$(echo "$MIGRATIONS" | wc -l)" \
    "$("$(_svc_pg_bindir)/psql" -At -X -h 127.0.0.1 -p "$PG_PORT" -U postgres -d race \
        -c 'SELECT count(*) FROM postinbox.schema_migration')"
t_eq "5 concurrent migrates record each definition file once" "$(echo "$DEFINITIONS" | wc -l)" \
    "$("$(_svc_pg_bindir)/psql" -At -X -h 127.0.0.1 -p "$PG_PORT" -U postgres -d race \
        -c 'SELECT count(*) FROM postinbox.schema_definition')"

# --- accounts and domains -------------------------------------------------
out=$(pi_ctl account create --name "O'Brien; DROP TABLE account" --short-id acme)
t_match "account create prints id and shortId" '^id: [0-9a-f-]{36}'$'\n''shortId: acme$' "$out"
A=$(echo "$out" | sed -n 's/^id: //p')
B=$(pi_account "Beta" beta)
t_eq "account name kept verbatim" "O'Brien; DROP TABLE account" "$(svc_psql "SELECT name FROM postinbox.account WHERE id = '$A'")"
out=$(pi_ctl --json account create --name Gen --daily-limit 10)
t_match "generated shortId" '^[a-z0-9]{6}$' "$(echo "$out" | json_get shortId)"
t_eq "account dailySendLimit" 10 "$(echo "$out" | json_get dailySendLimit)"
t_eq "duplicate short id: exit 1" 1 "$(ctl_rc account create --name X --short-id acme)"
t_eq "bad short id: exit 2" 2 "$(ctl_rc account create --name X --short-id 'a!')"
t_eq "account list total" 3 "$(pi_ctl --json account list | json_get total)"

t_eq "domain add --verified" true "$(pi_ctl --json domain add --account "$A" --name Acme.TEST --verified | json_get verified)"
pi_ctl domain add --account "$A" --name unverified.test > /dev/null
pi_ctl domain add --account "$B" --name beta.test --verified > /dev/null
t_eq "domain name stored lower-case" acme.test "$(svc_psql "SELECT name FROM postinbox.domain WHERE account_id = '$A' AND verified")"
t_eq "duplicate domain: exit 1" 1 "$(ctl_rc domain add --account "$B" --name ACME.test)"
t_eq "bad domain: exit 2" 2 "$(ctl_rc domain add --account "$A" --name 'bad_domain')"
t_eq "sandbox domain as custom: exit 1" 1 "$(ctl_rc domain add --account "$A" --name "$SANDBOX")"
t_eq "domain of unknown account: exit 1" 1 "$(ctl_rc domain add --account 00000000-0000-0000-0000-000000000000 --name x.test)"

# --- inboxes --------------------------------------------------------------
out=$(pi_ctl --json inbox create --account "$A" --username Bob --display-name "Bob \"O'Brien\"" \
    --label "o'brien" --label 'back\slash' --label "o'brien")
BOB_ID=$(echo "$out" | json_get id)
t_eq "sandbox address" "bob--acme@$SANDBOX" "$(echo "$out" | json_get address)"
t_eq "kind sandbox" sandbox "$(echo "$out" | json_get kind)"
t_eq "labels kept verbatim, deduplicated" '["o'"'"'brien", "back\\slash"]' "$(echo "$out" | json_get labels)"
t_eq "sandbox daily limit" 250 "$(echo "$out" | json_get dailySendLimit)"
t_eq "default burst limit" 25 "$(echo "$out" | json_get burstLimit)"
t_eq "status active" active "$(echo "$out" | json_get status)"
t_match "createdAt is ISO-8601 UTC" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$' \
    "$(echo "$out" | json_get createdAt)"
t_eq "one sandbox domain row" 1 "$(svc_psql "SELECT count(*) FROM postinbox.domain WHERE kind = 'sandbox' AND account_id IS NULL")"
out=$(pi_ctl --json inbox create --account "$A" --username sales --domain acme.test --daily-limit 5 --burst-limit 2)
t_eq "custom address" sales@acme.test "$(echo "$out" | json_get address)"
t_eq "explicit daily limit" 5 "$(echo "$out" | json_get dailySendLimit)"
t_eq "explicit burst limit" 2 "$(echo "$out" | json_get burstLimit)"
t_eq "custom inbox inherits the plan limit" 25000 \
    "$(pi_ctl --json inbox create --account "$A" --username info --domain acme.test | json_get dailySendLimit)"
err=$(pi_ctl inbox create --account "$A" --username BOB 2>&1 >/dev/null)
t_match "duplicate address: clear error" "inbox address already exists" "$err"
t_eq "duplicate address: exit 1" 1 "$(ctl_rc inbox create --account "$A" --username bob)"
t_eq "unverified domain: exit 1" 1 "$(ctl_rc inbox create --account "$A" --username x --domain unverified.test)"
t_eq "another account's domain: exit 1" 1 "$(ctl_rc inbox create --account "$A" --username x --domain beta.test)"
t_eq "unknown domain: exit 1" 1 "$(ctl_rc inbox create --account "$A" --username x --domain nosuch.test)"
t_eq "bad username: exit 2" 2 "$(ctl_rc inbox create --account "$A" --username "o'brien")"
t_eq "bad account uuid: exit 2" 2 "$(ctl_rc inbox create --account nope --username x)"
t_eq "unknown account: exit 1" 1 "$(ctl_rc inbox create --account 00000000-0000-0000-0000-000000000000 --username x)"

t_eq "show by id" "bob--acme@$SANDBOX" "$(pi_ctl --json inbox show "$BOB_ID" | json_get address)"
t_eq "show by address, any case" "$BOB_ID" "$(pi_ctl --json inbox show "BOB--ACME@$SANDBOX" | json_get id)"
t_eq "show neither uuid nor address: exit 2" 2 "$(ctl_rc inbox show bob)"
t_eq "show unknown inbox: exit 1" 1 "$(ctl_rc inbox show nobody@acme.test)"
t_eq "list total" 3 "$(pi_ctl --json inbox list | json_get total)"
t_eq "list --limit 1" 1 "$(pi_ctl --json inbox list --limit 1 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))')"
t_eq "list --account" 0 "$(pi_ctl --json inbox list --account "$B" | json_get total)"
t_eq "list --limit 1000: exit 2" 2 "$(ctl_rc inbox list --limit 1000)"
t_eq "list --offset -1: exit 2" 2 "$(ctl_rc inbox list --offset -1)"

# --- usage from Redis -------------------------------------------------------
t_eq "sendsToday 0 with no keys" 0 "$(pi_sends_today "$BOB_ID")"
now=$(svc_redis_cli TIME | head -1)
svc_redis_cli HSET "pi:{$BOB_ID}:daily" $((now / 86400)) 7 > /dev/null
svc_redis_cli ZADD "pi:{$BOB_ID}:burst" $((now * 1000)) t1 > /dev/null
t_eq "sendsToday from Redis" 7 "$(pi_sends_today "$BOB_ID")"
t_eq "burstUsed from Redis" 1 "$(pi_ctl --json inbox show "$BOB_ID" | json_get burstUsed)"

# --- status changes ----------------------------------------------------------
out=$(pi_ctl --json inbox suspend "$BOB_ID" --reason "o'brien said so")
t_eq "suspend: status" suspended "$(echo "$out" | json_get status)"
t_eq "suspend: reason" "o'brien said so" "$(echo "$out" | json_get statusReason)"
t_eq "suspend: audit row" "status|active|suspended|o'brien said so" \
    "$(svc_psql "SELECT action, old_value, new_value, reason FROM postinbox.audit WHERE inbox_id = '$BOB_ID'")"
t_match "suspend: audit actor" '^postinboxctl:' "$(svc_psql "SELECT actor FROM postinbox.audit WHERE inbox_id = '$BOB_ID'")"
ev=$(pi_ctl --json events "$BOB_ID" --type inbox.suspended)
t_eq "suspend: one inbox.suspended event" 1 "$(echo "$ev" | json_get total)"
t_eq "event payload" "{\"inboxId\": \"$BOB_ID\", \"address\": \"bob--acme@$SANDBOX\", \"status\": \"suspended\", \"reason\": \"o'brien said so\"}" \
    "$(echo "$ev" | python3 -c 'import json,sys; p=json.load(sys.stdin)["data"][0]["payload"]; print(json.dumps({k: p[k] for k in ("inboxId","address","status","reason")}))')"
t_eq "suspend twice: exit 0" 0 "$(ctl_rc inbox suspend "$BOB_ID")"
t_eq "suspend twice: no second event" 1 "$(pi_ctl --json events "$BOB_ID" --type inbox.suspended | json_get total)"
t_eq "disable" disabled "$(pi_ctl --json inbox disable "bob--acme@$SANDBOX" | json_get status)"
t_eq "disable: inbox.disabled event" 1 "$(pi_ctl --json events "$BOB_ID" --type inbox.disabled | json_get total)"
out=$(pi_ctl --json inbox activate "$BOB_ID")
t_eq "activate" active "$(echo "$out" | json_get status)"
t_eq "activate clears the reason" null "$(echo "$out" | json_get statusReason)"
t_eq "three audit rows" 3 "$(svc_psql "SELECT count(*) FROM postinbox.audit WHERE inbox_id = '$BOB_ID' AND action = 'status'")"
t_eq "no event for activate" 2 "$(pi_ctl --json events "$BOB_ID" | json_get total)"
# events --after (inclusive) / --before (exclusive), as the API's ?after= / ?before=
NEWEST=$(pi_ctl --json events "$BOB_ID" | json_get data.0.createdAt)
t_eq "events --after the newest event's time: it alone" "1 inbox.disabled" \
    "$(pi_ctl --json events "$BOB_ID" --after "$NEWEST" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["total"], " ".join(e["type"] for e in d["data"]))')"
t_eq "events --before the newest event's time: the older one" "1 inbox.suspended" \
    "$(pi_ctl --json events "$BOB_ID" --before "$NEWEST" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["total"], " ".join(e["type"] for e in d["data"]))')"
t_eq "events --after 2000-01-01 (no offset: UTC)" 2 "$(pi_ctl --json events "$BOB_ID" --after 2000-01-01 | json_get total)"
t_eq "events --after 2999-01-01T00:00:00+02:00: none" 0 "$(pi_ctl --json events "$BOB_ID" --after 2999-01-01T00:00:00+02:00 | json_get total)"
t_eq "events --after with --before and --type" 1 \
    "$(pi_ctl --json events "$BOB_ID" --after 2000-01-01 --before 2999-01-01 --type inbox.suspended | json_get total)"
t_match "events --after: human table" '^CREATED +TYPE' "$(pi_ctl events "$BOB_ID" --after 2000-01-01 | head -1)"
t_match "events --after, nothing left: (none; 0 in total)" '^\(none; 0 in total\)$' \
    "$(pi_ctl events "$BOB_ID" --after 2999-01-01 | tail -1)"
t_eq "events --after not a time: exit 2" 2 "$(ctl_rc events "$BOB_ID" --after yesterday)"
t_match "events --after not a time: names the option" '^postinboxctl: --after: "yesterday" is not an ISO-8601 timestamp' \
    "$(pi_ctl events "$BOB_ID" --after yesterday 2>&1 >/dev/null | head -1)"
t_eq "events --before Feb 30: exit 2" 2 "$(ctl_rc events "$BOB_ID" --before 2024-02-30)"
t_match "events --before Feb 30: names the option" '^postinboxctl: --before: "2024-02-30" is not an ISO-8601 timestamp' \
    "$(pi_ctl events "$BOB_ID" --before 2024-02-30 2>&1 >/dev/null | head -1)"
t_eq "events --after of an unknown inbox: exit 1" 1 "$(ctl_rc events nobody@acme.test --after 2000-01-01)"
t_eq "status of unknown inbox: exit 1" 1 "$(ctl_rc inbox suspend 00000000-0000-0000-0000-000000000000)"
t_eq "events --type bogus: exit 2" 2 "$(ctl_rc events "$BOB_ID" --type bogus)"

# --- logins -------------------------------------------------------------------
pi_ctl login grant --login Alice@Example.TEST --inbox "$BOB_ID" > /dev/null
t_eq "grant twice: exit 0" 0 "$(ctl_rc login grant --login alice@example.test --inbox "bob--acme@$SANDBOX")"
t_eq "grant stored once, lower-case" "alice@example.test" "$(svc_psql "SELECT login FROM postinbox.login_grant")"
t_eq "lookup sees the grant" t "$(svc_psql "SELECT granted FROM postinbox.lookup('bob--acme@$SANDBOX', 'ALICE@example.test')")"
t_eq "login list" 1 "$(pi_ctl --json login list --inbox "$BOB_ID" | json_get total)"
t_eq "revoke" true "$(pi_ctl --json login revoke --login alice@example.test --inbox "$BOB_ID" | json_get revoked)"
t_eq "revoke again" false "$(pi_ctl --json login revoke --login alice@example.test --inbox "$BOB_ID" 2>/dev/null | json_get revoked)"

# --- messages -------------------------------------------------------------------
svc_psql "SELECT postinbox.record_message('{\"queueId\": \"4Bx9Qz1kHrz\", \"envelopeFrom\": \"bob--acme@$SANDBOX\",
  \"messageId\": \"<m1@acme.test>\", \"from\": \"Bob <bob--acme@$SANDBOX>\", \"to\": \"sales@acme.test\",
  \"subject\": \"Héllo\", \"size\": 321, \"sender\": \"$BOB_ID\", \"senderRecipients\": [\"sales@acme.test\"],
  \"recipients\": []}')" > /dev/null
out=$(pi_ctl --json messages "$BOB_ID")
t_eq "messages total" 1 "$(echo "$out" | json_get total)"
t_eq "message direction" outbound "$(echo "$out" | json_get data.0.direction)"
t_eq "message subject" "Héllo" "$(echo "$out" | json_get data.0.subject)"
t_eq "message messageId header" "<m1@acme.test>" "$(echo "$out" | json_get data.0.messageId)"
t_eq "message envelopeTo" '["sales@acme.test"]' "$(echo "$out" | json_get data.0.envelopeTo)"
t_eq "message size" 321 "$(echo "$out" | json_get data.0.size)"
t_eq "messages --limit 101: exit 2" 2 "$(ctl_rc messages "$BOB_ID" --limit 101)"

# --- Redis down: still exit 0, sendsToday null ---------------------------------
svc_stop_redis
t_eq "Redis down: show exits 0" 0 "$(ctl_rc inbox show "$BOB_ID")"
t_eq "Redis down: sendsToday null" null "$(pi_sends_today "$BOB_ID" 2>/dev/null)"
t_match "Redis down: warning on stderr" "warning" "$(pi_ctl inbox show "$BOB_ID" 2>&1 >/dev/null)"

# --- config and usage errors ---------------------------------------------------------
t_eq "missing config file: exit 1" 1 "$("$PI_CTL" -c /nonexistent/postinbox.conf inbox list >/dev/null 2>&1; echo $?)"
t_eq "unknown command: exit 2" 2 "$(ctl_rc frobnicate)"
t_eq "unknown option: exit 2" 2 "$(ctl_rc inbox list --frob)"

t_summary
