#!/usr/bin/env bash
# test-timeout: 600
# t_domain_api.sh -- custom domains through the HTTP API and postinbox-
# policyd's periodic DNS check, against the real daemon, PostgreSQL and an
# authoritative DNS server (NSD, tests/integration/dns.sh):
#   /v1/domains: create (pending, IDN names stored as A-labels and shown
#   as U-labels, bad names refused, 253 octets the longest), list and get
#   (an account's own only; records with their last check), verify (per
#   record status; verified once published), delete (409 while an inbox
#   uses it); an inbox key is refused; an inbox on a pending domain is
#   refused naming the records that are not valid.
#   The periodic check: a pending domain whose records appear becomes
#   verified by itself (event domain.verified); records that break give
#   domain.dns_failed once, only after domain_check_failures checks in a
#   row, and the domain stays verified; recovery gives domain.verified
#   (recovered).  Both events reach the account-wide endpoint with a
#   signature the receiver checks itself, and nobody else's.  A rotated
#   DKIM key becomes the signing key once its record is published.
set -u
here=$(dirname "$0")
. "$here/common.sh"
. "$here/dns.sh"
command -v curl >/dev/null || { echo "SKIP: needs curl"; exit 77; }
RECEIVER=$PI_TESTDIR/../webhook_receiver.py
pi_require --policyd
API_PORT=$(_svc_pick_ports 1) || exit 1
HTTP_PORT=$(_svc_pick_ports 1) || exit 1
PPORT=$(_svc_pick_ports 1) || exit 1
CONF=("dns_spf = ip4:127.0.0.1" "dns_timeout = 1s" "api_listen = 127.0.0.1:$API_PORT" "policy_listen = 127.0.0.1:$PPORT"
      "webhook_allow_networks = 127.0.0.0/8" "webhook_allow_http = yes" "webhook_poll_interval = 1s"
      "domain_check_interval = 0")
# the periodic check, switched on by a reload before its part
WATCH=("domain_check_interval = 3s" "domain_check_retry = 1s" "domain_check_failures = 2")
pi_setup --no-postfix --no-milter "${CONF[@]}"
API=http://127.0.0.1:$API_PORT

# api METHOD PATH KEY [BODY]: prints "STATUS BODY" (one line).
api() {
    local method=$1 path=$2 key=$3 out
    local args=(-s -o "$SVC_DIR/api.body" -w '%{http_code}' -X "$method" -H "x-api-key: $key")
    [ $# -ge 4 ] && args+=(-H "Content-Type: application/json" --data-binary "$4")
    out=$(curl "${args[@]}" "$API$path")
    echo "$out $(cat "$SVC_DIR/api.body")"
}
code() { echo "${1%% *}"; }
body() { echo "${1#* }"; }
jq_() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$(body "$1")" "$2"; }
hq() { python3 "$RECEIVER" query "$SVC_DIR/hooks.jsonl" "$1"; }
hwait() { pi_wait_hook "$SVC_DIR/hooks.jsonl" "$1" "$2"; }
sqlwait() { pi_wait_sql "$1" "$2"; }

A=$(pi_account "Acme" acme)
B=$(pi_account "Beta" beta)
read -r A1_ID _ <<<"$(pi_inbox "$A" one)"
KA=$(pi_ctl --json apikey create --account "$A" | json_get key)
KB=$(pi_ctl --json apikey create --account "$B" | json_get key)
KI=$(pi_ctl --json apikey create --account "$A" --inbox "$A1_ID" | json_get key)

# Endpoints: A account-wide (gets domain events), A's inbox (must not), B account-wide (must not).
SA=$(pi_ctl --json webhook add --account "$A" --url "http://127.0.0.1:$HTTP_PORT/ok/a" | json_get secret)
SI=$(pi_ctl --json webhook add --inbox "$A1_ID" --url "http://127.0.0.1:$HTTP_PORT/ok/inbox" | json_get secret)
SB=$(pi_ctl --json webhook add --account "$B" --url "http://127.0.0.1:$HTTP_PORT/ok/b" | json_get secret)
python3 "$RECEIVER" --port "$HTTP_PORT" --log "$SVC_DIR/hooks.jsonl" --max-lifetime 600 \
    --secret "/ok/a=$SA" --secret "/ok/inbox=$SI" --secret "/ok/b=$SB" >>"$SVC_DIR/receiver.log" 2>&1 &
svc_register_pid $!

# --- the zones NSD serves (empty for now) ---------------------------------------
for z in api.test watch.test; do printf 'www IN A 127.0.0.1\n' | dns_zone $z; done
dns_start || exit 1
pi_write_conf "${CONF[@]}" "dns_resolver = 127.0.0.1@$DNS_PORT"
pi_start_policyd || exit 1

# --- keys ---------------------------------------------------------------------------
r=$(api GET /v1/domains "$KI")
t_eq "an inbox key: 403 on /v1/domains" "403 forbidden" "$(code "$r") $(jq_ "$r" 'd["error"]["code"]')"
t_eq "an inbox key: 403 on POST /v1/domains" 403 "$(code "$(api POST /v1/domains "$KI" '{"name":"x.test"}')")"

# --- create ---------------------------------------------------------------------------
r=$(api POST /v1/domains "$KA" '{"name":"API.test."}')
t_eq "create: 201" 201 "$(code "$r")"
D1=$(jq_ "$r" 'd["id"]')
t_eq "create: lower case, no final dot, pending, not verified" "api.test pending False $A" \
    "$(jq_ "$r" 'd["name"], d["status"], d["verified"], d["accountId"]' | tr -d "(),'")"
t_eq "create: a DKIM key made with it" 1 \
    "$(svc_psql "SELECT count(*) FROM postinbox.dkim_key WHERE domain_id = '$D1' AND state = 'active'")"
r=$(api POST /v1/domains "$KA" '{"name":"Bücher.test"}')
t_eq "IDN: 201, stored as A-labels, shown as U-labels" "201 xn--bcher-kva.test bücher.test" \
    "$(code "$r") $(jq_ "$r" 'd["name"]') $(jq_ "$r" 'd["unicodeName"]')"
t_eq "IDN: the A-label spelling is the same domain (409)" 409 \
    "$(code "$(api POST /v1/domains "$KA" '{"name":"xn--bcher-kva.test"}')")"
t_eq "the same name for another account: 409 (names are global)" 409 \
    "$(code "$(api POST /v1/domains "$KB" '{"name":"api.test"}')")"
t_eq "the sandbox domain: 409" 409 "$(code "$(api POST /v1/domains "$KB" "{\"name\":\"$SANDBOX\"}")")"
long=$(python3 -c 'print(".".join(["a" * 63] * 3 + ["b" * 59]) + ".test")')   # 63*3+3+59+5 = 256
t_eq "a 256-octet name: 400 invalid_field" "400 invalid_field" \
    "$(r=$(api POST /v1/domains "$KA" "{\"name\":\"$long\"}"); echo "$(code "$r") $(jq_ "$r" 'd["error"]["code"]')")"
ok253=$(python3 -c 'print(".".join(["a" * 63] * 3 + ["b" * 56]) + ".test")')  # 63*3+3+56+5 = 253
t_eq "a 253-octet name (the longest): 201" 201 "$(code "$(api POST /v1/domains "$KA" "{\"name\":\"$ok253\"}")")"
for bad in '""' '"localhost"' '"-x.test"' '"x-.test"' '"a..test"' '"ex ample.test"' '"x_y.test"' \
    '"x.test\u0000.evil"' '"xn--zz.test"' '"\u00ff\u00fe.test\ud800"' '42' 'null' "\"$(printf 'l%.0s' $(seq 64)).test\""; do
    r=$(api POST /v1/domains "$KA" "{\"name\":$bad}")
    t_eq "not a domain name $bad: 400" 400 "$(code "$r")"
done
t_eq "a body that is not JSON: 400" 400 "$(code "$(api POST /v1/domains "$KA" '{"name":')")"
t_eq "an unknown field: 400" 400 "$(code "$(api POST /v1/domains "$KA" '{"name":"z.test","verified":true}')")"
t_eq "nothing made by the refusals" 0 "$(svc_psql "SELECT count(*) FROM postinbox.domain WHERE name IN ('z.test','localhost')")"

# --- list and get -----------------------------------------------------------------------
r=$(api GET /v1/domains "$KA")
t_eq "list: A's 3 domains, newest first" "200 3 $ok253" "$(code "$r") $(jq_ "$r" 'd["total"]') $(jq_ "$r" 'd["data"][0]["name"]')"
t_eq "list: B sees none of them" "200 0" "$(r=$(api GET /v1/domains "$KB"); echo "$(code "$r") $(jq_ "$r" 'd["total"]')")"
r=$(api GET "/v1/domains/$D1" "$KA")
t_eq "get: 200 with the records to publish, unchecked" "200 ownership spf dkim dmarc unchecked" \
    "$(code "$r") $(jq_ "$r" '" ".join(x["purpose"] for x in d["records"]) + " " + d["records"][0]["lastCheck"]["status"]')"
t_eq "get: which records verification needs" "True True True False" \
    "$(jq_ "$r" '" ".join(str(x["required"]) for x in d["records"])')"
t_eq "get: never a private key" no "$(body "$r" | grep -q 'PRIVATE' && echo yes || echo no)"
t_eq "get another account's domain: 404" 404 "$(code "$(api GET "/v1/domains/$D1" "$KB")")"
t_eq "verify another account's domain: 404" 404 "$(code "$(api POST "/v1/domains/$D1/verify" "$KB")")"
t_eq "get an unknown id: 404" 404 "$(code "$(api GET /v1/domains/00000000-0000-4000-8000-000000000000 "$KA")")"
t_eq "get a bad id: 400" 400 "$(code "$(api GET /v1/domains/nope "$KA")")"

# --- an inbox on a pending domain ---------------------------------------------------------
r=$(api POST "/v1/domains/$D1/verify" "$KA")
t_eq "verify with nothing published: 200, not passed, pending" "200 False pending" \
    "$(code "$r") $(jq_ "$r" 'd["check"]["checksPassed"]') $(jq_ "$r" 'd["status"]')"
t_eq "... each record missing, and the server named" "missing missing missing 127.0.0.1@$DNS_PORT" \
    "$(jq_ "$r" '" ".join(x["lastCheck"]["status"] for x in d["records"][:3]) + " " + d["check"]["server"]')"
r=$(api POST /v1/inboxes "$KA" "{\"username\":\"agent\",\"domainId\":\"$D1\"}")
t_eq "inbox on a pending domain: 400 invalid_domain" "400 invalid_domain" "$(code "$r") $(jq_ "$r" 'd["error"]["code"]')"
t_match "... naming the records that are not valid" 'at the last check: ownership missing, spf missing, dkim missing' \
    "$(jq_ "$r" 'd["error"]["message"]')"

# --- verify once published -------------------------------------------------------------------
pi_ctl domain records api.test --zone | dns_zone api.test
r=$(api POST "/v1/domains/$D1/verify" "$KA")
t_eq "published: verified, the event said" "200 True verified domain.verified" \
    "$(code "$r") $(jq_ "$r" 'd["check"]["checksPassed"]') $(jq_ "$r" 'd["status"]') $(jq_ "$r" 'd["check"]["event"]')"
t_eq "published: every record valid at the last check" "valid valid valid valid" \
    "$(jq_ "$r" '" ".join(x["lastCheck"]["status"] for x in d["records"])')"
t_match "published: audited as the key" '^domain\.verified\|api\.test\|api:' \
    "$(svc_psql "SELECT action, new_value, actor FROM postinbox.audit WHERE new_value = 'api.test'")"
t_eq "published: an inbox on it" 201 "$(code "$(api POST /v1/inboxes "$KA" "{\"username\":\"agent\",\"domainId\":\"$D1\"}")")"
hwait "any(r['json']['type'] == 'domain.verified' and r['json']['data']['domain'] == 'api.test' for r in under('/ok/a'))" 15
t_eq "webhook domain.verified to A's account endpoint, signature verified" "True False" \
    "$(hq "' '.join('%s %s' % (r['verified'], r['json']['data']['recovered']) for r in under('/ok/a') if r['json']['data'].get('domain') == 'api.test')")"
t_eq "... and the records' statuses in it" "ownership:valid spf:valid dkim:valid dmarc:valid" \
    "$(hq "' '.join(x['purpose'] + ':' + x['status'] for r in under('/ok/a') if r['json']['data'].get('domain') == 'api.test' for x in r['json']['data']['records'])")"

# --- delete ---------------------------------------------------------------------------------
r=$(api DELETE "/v1/domains/$D1" "$KA")
t_eq "delete while an inbox uses it: 409" "409 conflict" "$(code "$r") $(jq_ "$r" 'd["error"]["code"]')"
INB=$(svc_psql "SELECT id FROM postinbox.inbox WHERE address = 'agent@api.test'")
t_eq "purge the inbox: 204" 204 "$(code "$(api DELETE "/v1/inboxes/$INB?purge=true" "$KA")")"
t_eq "delete by B: 404, nothing deleted" "404 1" \
    "$(code "$(api DELETE "/v1/domains/$D1" "$KB")") $(svc_psql "SELECT count(*) FROM postinbox.domain WHERE id = '$D1'")"
t_eq "delete: 204" 204 "$(code "$(api DELETE "/v1/domains/$D1" "$KA")")"
t_eq "deleted: 404, its keys gone, audited" "404 0 1" \
    "$(code "$(api GET "/v1/domains/$D1" "$KA")") $(svc_psql "SELECT count(*) FROM postinbox.dkim_key WHERE domain_id = '$D1'") $(svc_psql "SELECT count(*) FROM postinbox.audit WHERE action = 'domain.deleted' AND old_value = 'api.test'")"

# --- the periodic check: pending -> verified by itself ---------------------------------------
pi_write_conf "${CONF[@]}" "dns_resolver = 127.0.0.1@$DNS_PORT" "${WATCH[@]}"
n=$(grep -c '^.*reloaded' "$SVC_DIR/policyd.log")
kill -HUP "$PD"
for ((i = 0; i < 100; i++)); do [ "$(grep -c '^.*reloaded' "$SVC_DIR/policyd.log")" -gt "$n" ] && break; sleep 0.1; done
t_eq "reload: the periodic check on" 1 "$(grep -c '^.*reloaded' "$SVC_DIR/policyd.log")"
r=$(api POST /v1/domains "$KA" '{"name":"watch.test"}')
D2=$(jq_ "$r" 'd["id"]')
sleep 2
t_eq "watched: nothing published, still pending after a check" "f t" \
    "$(svc_psql "SELECT verified, checked_at IS NOT NULL FROM postinbox.domain WHERE id = '$D2'" | tr '|' ' ')"
pi_ctl domain records watch.test --zone | dns_zone watch.test
sqlwait "SELECT verified FROM postinbox.domain WHERE id = '$D2'" 20
t_eq "watched: verified without being asked, once its records appeared" t \
    "$(svc_psql "SELECT verified FROM postinbox.domain WHERE id = '$D2'")"
t_match "watched: policyd logged the check" 'domain check: watch\.test passed \(asked 127\.0\.0\.1@[0-9]+\): domain\.verified' \
    "$(cat "$SVC_DIR/policyd.log")"
hwait "any(r['json']['type'] == 'domain.verified' and r['json']['data']['domain'] == 'watch.test' for r in under('/ok/a'))" 15
t_eq "watched: its domain.verified webhook" 1 \
    "$(hq "len([r for r in under('/ok/a') if r['json']['data'].get('domain') == 'watch.test'])")"

# --- records break: dns_failed after 2 failures in a row, once; mail keeps its domain ----------
ZONE_OK=$(pi_ctl domain records watch.test --zone)
printf 'www IN A 127.0.0.1\n' | dns_zone watch.test
sqlwait "SELECT check_failures = 1 FROM postinbox.domain WHERE id = '$D2'" 10
t_eq "one failed check: no event yet, still verified" "0 t" \
    "$(svc_psql "SELECT count(*) FROM postinbox.event WHERE account_id = '$A' AND type = 'domain.dns_failed'") $(svc_psql "SELECT verified FROM postinbox.domain WHERE id = '$D2'")"
sqlwait "SELECT dns_failed_at IS NOT NULL FROM postinbox.domain WHERE id = '$D2'" 15
hwait "any(r['json']['type'] == 'domain.dns_failed' for r in under('/ok/a'))" 15
t_eq "second failure in a row: domain.dns_failed, signed, with what is missing" "True failing 2 ownership:missing" \
    "$(hq "' '.join('%s %s %s %s:%s' % (r['verified'], r['json']['data']['status'], r['json']['data']['failures'], r['json']['data']['records'][0]['purpose'], r['json']['data']['records'][0]['status']) for r in under('/ok/a') if r['json']['type'] == 'domain.dns_failed')")"
r=$(api GET "/v1/domains/$D2" "$KA")
t_eq "failing: still verified, status failing" "True failing" "$(jq_ "$r" 'd["verified"]') $(jq_ "$r" 'd["status"]')"
t_eq "failing: inboxes can still be made on it" 201 \
    "$(code "$(api POST /v1/inboxes "$KA" "{\"username\":\"w\",\"domainId\":\"$D2\"}")")"
# the same decision core as the milter's, through postinbox-policyd's policy service
mailfrom() {
    python3 "$PI_TESTDIR/policy_client.py" "$PPORT" \
        "request=smtpd_access_policy\nprotocol_state=MAIL\nsender=w@watch.test\nsasl_username=agent@login.test\nclient_address=192.0.2.1\ninstance=$1\n\n"
}
pi_ctl login grant --login agent@login.test --inbox w@watch.test >/dev/null
t_eq "failing, domain_dns_failed = send (the default): MAIL FROM its inbox goes on" action=DUNNO "$(mailfrom m.1)"
reload_with() {
    local n
    pi_write_conf "${CONF[@]}" "dns_resolver = 127.0.0.1@$DNS_PORT" "${WATCH[@]}" "$@"
    n=$(grep -c 'reloaded' "$SVC_DIR/policyd.log")
    kill -HUP "$PD"
    for ((i = 0; i < 100; i++)); do [ "$(grep -c 'reloaded' "$SVC_DIR/policyd.log")" -gt "$n" ] && break; sleep 0.1; done
}
reload_with "domain_dns_failed = hold"
t_match "failing, domain_dns_failed = hold: 451 4.7.0, the mail waits" \
    "^action=451 4\.7\.0 the DNS records of w@watch\.test's domain failed their check" "$(mailfrom m.2)"
sqlwait "SELECT check_failures >= 3 FROM postinbox.domain WHERE id = '$D2'" 15
t_eq "more failures: still one domain.dns_failed" 1 \
    "$(svc_psql "SELECT count(*) FROM postinbox.event WHERE account_id = '$A' AND type = 'domain.dns_failed'")"
t_eq "backoff: the next check later after each failure" t \
    "$(svc_psql "SELECT next_check_at - checked_at >= interval '3 seconds' FROM postinbox.domain WHERE id = '$D2'")"

# --- recovery --------------------------------------------------------------------------------
echo "$ZONE_OK" | dns_zone watch.test
sqlwait "SELECT dns_failed_at IS NULL FROM postinbox.domain WHERE id = '$D2'" 20
hwait "any(r['json']['type'] == 'domain.verified' and r['json']['data']['domain'] == 'watch.test' and r['json']['data']['recovered'] for r in under('/ok/a'))" 15
t_eq "recovered: held mail goes again" action=DUNNO "$(mailfrom m.3)"
t_eq "recovered: domain.verified with recovered true, failures reset" "1 0 verified" \
    "$(hq "len([r for r in under('/ok/a') if r['json']['type'] == 'domain.verified' and r['json']['data'].get('recovered')])") $(svc_psql "SELECT check_failures FROM postinbox.domain WHERE id = '$D2'") $(jq_ "$(api GET "/v1/domains/$D2" "$KA")" 'd["status"]')"
t_eq "isolation: no domain event to A's inbox endpoint nor to B's" "0 0" \
    "$(hq "len([r for r in under('/ok/inbox') if r['json']['type'].startswith('domain.')])") $(hq "len(under('/ok/b'))")"

# --- rotation: the new key signs once its record is published -------------------------------
OLD=$(pi_ctl --json domain dkim show watch.test | json_get keys.0.selector)
NEW=$(pi_ctl --json domain dkim rotate watch.test | json_get keys.0.selector)
t_eq "rotate: a new pending key, the old one still active" "pending active" \
    "$(svc_psql "SELECT string_agg(state, ' ' ORDER BY selector = '$NEW' DESC) FROM postinbox.dkim_key WHERE domain_id = '$D2'")"
sleep 4
t_eq "rotate: not published yet, not switched" pending \
    "$(svc_psql "SELECT state FROM postinbox.dkim_key WHERE domain_id = '$D2' AND selector = '$NEW'")"
pi_ctl domain records watch.test --zone | dns_zone watch.test
sqlwait "SELECT state = 'active' FROM postinbox.dkim_key WHERE domain_id = '$D2' AND selector = '$NEW'" 20
t_eq "rotate: published -> the new key active, the old retired but still published" "active retired t" \
    "$(svc_psql "SELECT n.state, o.state, o.retire_after > now() FROM postinbox.dkim_key n, postinbox.dkim_key o WHERE n.domain_id = '$D2' AND n.selector = '$NEW' AND o.domain_id = '$D2' AND o.selector = '$OLD'" | tr '|' ' ')"
t_eq "rotate: both selectors still in the records" 2 \
    "$(pi_ctl --json domain records watch.test | python3 -c 'import json,sys; print(sum(r["purpose"] == "dkim" for r in json.load(sys.stdin)["records"]))')"

# --- a stopping daemon does not wait for DNS -----------------------------------------------
t_eq "no sanitizer or crash report in policyd's log" no "$(grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' "$SVC_DIR/policyd.log" && echo yes || echo no)"
start=$(date +%s%N)
pi_stop_policyd
t_eq "policyd stops within 3 s" yes "$([ $(( ($(date +%s%N) - start) / 1000000 )) -lt 3000 ] && echo yes || echo no)"

t_summary
