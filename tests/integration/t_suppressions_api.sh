#!/usr/bin/env bash
# test-timeout: 600
# t_suppressions_api.sh -- suppression management (issue 12) against the
# real policyd API, PostgreSQL, Redis, the milter and Postfix:
# GET /v1/inboxes/{id}/suppressions with its filters (source, reason,
# address prefix, after/before) and pages; POST (201, address read as
# RCPT TO, 409 when present, bad input 400, an expiry in the past 400);
# DELETE (204, 404 when absent, 403 suppression_locked for a complaint,
# which postinboxctl can remove); audit rows naming the key; another
# account's inbox answered 404 with nothing changed, an inbox key 403 on
# another inbox.  postinboxctl suppression export (CSV with the formula
# guard, JSON) and import (round trip into another inbox, existing
# addresses skipped and counted, a bad line named and nothing imported).
# Expiry end to end: an entry expiring in 2 s refuses the address at RCPT
# (550 5.1.1) now and lets it through afterwards; lookup()'s "has a list"
# flag ignores expired entries.
set -u
. "$(dirname "$0")/common.sh"
command -v curl >/dev/null || { echo "SKIP: needs curl"; exit 77; }
pi_init --policyd
API_PORT=$(_svc_pick_ports 1) || exit 1
pi_setup --policyd "api_listen = 127.0.0.1:$API_PORT"
API=http://127.0.0.1:$API_PORT

# api METHOD PATH KEY [BODY]: prints "STATUS BODY" (one line).
api() {
    local method=$1 path=$2 key=$3 out
    local args=(-s -o "$SVC_DIR/api.body" -w '%{http_code}' -X "$method" -H "x-api-key: $key")
    if [ $# -ge 4 ]; then args+=(-H "Content-Type: application/json" --data-binary "$4"); fi
    out=$(curl "${args[@]}" "$API$path")
    echo "$out $(cat "$SVC_DIR/api.body")"
}
code() { echo "${1%% *}"; }
body() { echo "${1#* }"; }
errcode() { body "$1" | json_get error.code; }
q() { svc_psql "$1"; }
rows() { q "SELECT count(*) FROM postinbox.suppression WHERE inbox_id = '$1'"; }
iso_in() {  # iso_in SECONDS: PostgreSQL's now() + SECONDS as ISO-8601 UTC
    q "SELECT to_char((now() + interval '$1 seconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
}
addresses() {  # addresses JSON-LIST: the sorted "address source" pairs of a list answer
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(sorted(r["address"] + ":" + r["source"] for r in d["data"])))'
}

A=$(pi_account "Acme" acme)
B=$(pi_account "Beta" beta)
read -r A1_ID A1 <<<"$(pi_inbox "$A" one)"
read -r A2_ID A2 <<<"$(pi_inbox "$A" two)"
read -r A3_ID A3 <<<"$(pi_inbox "$A" three)"
read -r B1_ID _ <<<"$(pi_inbox "$B" bob)"
out=$(pi_ctl --json apikey create --account "$A" --name admin)
KA=$(echo "$out" | json_get key)
KA_ID=$(echo "$out" | json_get id)
KI=$(pi_ctl --json apikey create --account "$A" --inbox "$A1" | json_get key)
KB=$(pi_ctl --json apikey create --account "$B" | json_get key)
P=/v1/inboxes/$A1_ID/suppressions

# ---- POST ---------------------------------------------------------------------------------
r=$(api POST "$P" "$KA" '{"address": "<Stop@Remote.TEST>", "reason": "asked to stop"}')
t_eq "POST: 201" 201 "$(code "$r")"
t_eq "POST: the address as RCPT TO reads it, source manual, the reason, no expiry" \
    "stop@remote.test manual asked to stop null null" \
    "$(for k in address source reason expiresAt bounceReason; do body "$r" | json_get $k; done | tr '\n' ' ' | sed 's/ $//')"
t_eq "POST: every documented member" "address bounceReason createdAt dsn expiresAt messageId reason source" \
    "$(body "$r" | python3 -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin))))')"
t_eq "audited: suppression.add by the key" "api:$KA_ID|suppression.add|stop@remote.test|asked to stop" \
    "$(q "SELECT actor, action, new_value, reason FROM postinbox.audit WHERE inbox_id = '$A1_ID' AND action = 'suppression.add'")"
r=$(api POST "$P" "$KA" '{"address": "stop@remote.test"}')
t_eq "POST again: 409 conflict, one row, one audit row" "409 conflict 1 1" \
    "$(code "$r") $(errcode "$r") $(rows "$A1_ID") $(q "SELECT count(*) FROM postinbox.audit WHERE inbox_id = '$A1_ID' AND action = 'suppression.add'")"
t_eq "POST a malformed address: 400" "400 invalid_field" "$(code "$(api POST "$P" "$KA" '{"address": "not an address"}')") $(errcode "$(api POST "$P" "$KA" '{"address": "not an address"}')")"
t_eq "POST without address: 400 missing_field" missing_field "$(errcode "$(api POST "$P" "$KA" '{"reason": "x"}')")"
t_eq "POST with an unknown member: 400" 400 "$(code "$(api POST "$P" "$KA" '{"address": "a@remote.test", "source": "bounce"}')")"
r=$(api POST "$P" "$KA" "{\"address\": \"past@remote.test\", \"expiresAt\": \"$(iso_in -60)\"}")
t_match "POST with expiresAt in the past: 400 naming the expiry" "^400 .*future" "$r"
t_eq "POST with a malformed expiresAt: 400" 400 "$(code "$(api POST "$P" "$KA" '{"address": "b@remote.test", "expiresAt": "2030-13-01"}')")"
t_eq "POST with a control character in the reason: 400" 400 \
    "$(code "$(api POST "$P" "$KA" '{"address": "c@remote.test", "reason": "a\u0007b"}')")"
t_eq "none of the refused POSTs added a row" 1 "$(rows "$A1_ID")"
for a in x+tag@remote.test alpha@other.test beta@other.test; do
    api POST "$P" "$KA" "{\"address\": \"$a\", \"reason\": \"=HYPERLINK(\\\"http://evil\\\")\"}" >/dev/null
done
EXP=$(iso_in 3600)
r=$(api POST "$P" "$KA" "{\"address\": \"later@remote.test\", \"expiresAt\": \"$EXP\"}")
t_eq "POST with expiresAt in the future: 201 with it" "201 $EXP" "$(code "$r") $(body "$r" | json_get expiresAt)"
# a bounce and a complaint, as the log follower and the report path write them
q "INSERT INTO postinbox.suppression (inbox_id, address, source, reason, dsn, bounce_reason, created_at)
   VALUES ('$A1_ID', 'gone@bounce.test', 'bounce', '550 5.1.1 no such user', '5.1.1', 'user_unknown', now() - interval '2 days'),
          ('$A1_ID', 'angry@remote.test', 'complaint', 'complaint (abuse)', NULL, NULL, now() - interval '1 day')" >/dev/null

# ---- GET: filters and pages ----------------------------------------------------------------
r=$(api GET "$P" "$KA")
t_eq "GET: 200, total 7" "200 7" "$(code "$r") $(body "$r" | json_get total)"
t_eq "GET: newest first (the bounce of two days ago last)" gone@bounce.test "$(body "$r" | json_get data.6.address)"
t_eq "GET: the bounce's reason, bounceReason and dsn" "550 5.1.1 no such user user_unknown 5.1.1" \
    "$(for k in reason bounceReason dsn; do body "$r" | json_get data.6.$k; done | tr '\n' ' ' | sed 's/ $//')"
t_eq "?source=manual" 5 "$(body "$(api GET "$P?source=manual" "$KA")" | json_get total)"
t_eq "?source=complaint" angry@remote.test:complaint "$(body "$(api GET "$P?source=complaint" "$KA")" | addresses)"
t_eq "?reason=user_unknown (the bounce reason)" gone@bounce.test:bounce "$(body "$(api GET "$P?reason=user_unknown" "$KA")" | addresses)"
t_eq "?reason=mailbox_full: none" 0 "$(body "$(api GET "$P?reason=mailbox_full" "$KA")" | json_get total)"
t_eq "?address= prefix, any case" "alpha@other.test:manual beta@other.test:manual" \
    "$(body "$(api GET "$P?address=ALPHA" "$KA")" | addresses) $(body "$(api GET "$P?address=beta@" "$KA")" | addresses)"
t_eq "?address=x+ (a literal +)" x+tag@remote.test:manual "$(body "$(api GET "$P?address=x%2B" "$KA")" | addresses)"
DAY_AGO=$(iso_in -43200)
t_eq "?before= 12 h ago: the bounce and the complaint" "angry@remote.test:complaint gone@bounce.test:bounce" \
    "$(body "$(api GET "$P?before=$DAY_AGO" "$KA")" | addresses)"
t_eq "?after= 12 h ago: the five added now" 5 "$(body "$(api GET "$P?after=$DAY_AGO" "$KA")" | json_get total)"
r1=$(api GET "$P?limit=3" "$KA"); r2=$(api GET "$P?limit=3&offset=3" "$KA"); r3=$(api GET "$P?limit=3&offset=6" "$KA")
t_eq "pages of 3: 3 + 3 + 1 rows, total 7 on each" "3 3 1 7 7 7" \
    "$(for x in "$r1" "$r2" "$r3"; do body "$x" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))'; done | tr '\n' ' ')$(for x in "$r1" "$r2" "$r3"; do body "$x" | json_get total; done | tr '\n' ' ' | sed 's/ $//')"
t_eq "the pages do not overlap: 7 different addresses" 7 \
    "$(for x in "$r1" "$r2" "$r3"; do body "$x" | python3 -c 'import json,sys; [print(r["address"]) for r in json.load(sys.stdin)["data"]]'; done | sort -u | wc -l)"
for bad in "source=hard" "reason=nonsense" "after=yesterday" "limit=0" "limit=101"; do
    r=$(api GET "$P?$bad" "$KA")
    t_eq "?$bad: 400 invalid_parameter" "400 invalid_parameter" "$(code "$r") $(errcode "$r")"
done

# ---- DELETE --------------------------------------------------------------------------------
t_eq "DELETE: 204" 204 "$(code "$(api DELETE "$P/stop@remote.test" "$KA")")"
t_eq "DELETE again: 404 not_found" "404 not_found" "$(code "$(api DELETE "$P/stop@remote.test" "$KA")") $(errcode "$(api DELETE "$P/stop@remote.test" "$KA")")"
t_eq "DELETE with the address percent-encoded and in capitals: 204" 204 "$(code "$(api DELETE "$P/X%2Btag%40Remote.test" "$KA")")"
t_eq "audited: suppression.remove by the key" "api:$KA_ID|suppression.remove|stop@remote.test" \
    "$(q "SELECT actor, action, old_value FROM postinbox.audit WHERE inbox_id = '$A1_ID' AND action = 'suppression.remove' ORDER BY id LIMIT 1")"
t_eq "DELETE of a malformed address: 400" 400 "$(code "$(api DELETE "$P/not-an-address" "$KA")")"
r=$(api DELETE "$P/angry@remote.test" "$KA")
t_eq "DELETE of a complaint entry by an account key: 403 suppression_locked" "403 suppression_locked" "$(code "$r") $(errcode "$r")"
t_match "the refusal says only the operator can" "only the operator" "$(body "$r" | json_get error.message)"
t_eq "the complaint entry is still there" complaint \
    "$(q "SELECT source FROM postinbox.suppression WHERE inbox_id = '$A1_ID' AND address = 'angry@remote.test'")"

# ---- other accounts and inbox keys ------------------------------------------------------------
BEFORE=$(rows "$A1_ID")
t_eq "another account's key: GET 404" "404 not_found" "$(code "$(api GET "$P" "$KB")") $(errcode "$(api GET "$P" "$KB")")"
t_eq "another account's key: POST 404" 404 "$(code "$(api POST "$P" "$KB" '{"address": "intruder@remote.test"}')")"
t_eq "another account's key: DELETE 404" 404 "$(code "$(api DELETE "$P/alpha@other.test" "$KB")")"
t_eq "... and nothing changed" "$BEFORE 0" \
    "$(rows "$A1_ID") $(q "SELECT count(*) FROM postinbox.suppression WHERE address = 'intruder@remote.test'")"
t_eq "an unknown inbox: 404" 404 "$(code "$(api GET /v1/inboxes/00000000-0000-4000-8000-000000000009/suppressions "$KA")")"
t_eq "the inbox key on its inbox: 200" 200 "$(code "$(api GET "$P" "$KI")")"
t_eq "the inbox key on another inbox: 403" 403 "$(code "$(api GET "/v1/inboxes/$A2_ID/suppressions" "$KI")")"
t_eq "B's own inbox is empty for B" "200 0" "$(code "$(api GET "/v1/inboxes/$B1_ID/suppressions" "$KB")") $(body "$(api GET "/v1/inboxes/$B1_ID/suppressions" "$KB")" | json_get total)"

# ---- postinboxctl: list filters, export, import ------------------------------------------------
t_eq "suppression list --source bounce --json" gone@bounce.test:bounce \
    "$(pi_ctl --json suppression list "$A1" --source bounce | addresses)"
out=$(pi_ctl suppression list "$A1" --source hard 2>&1)
t_match "suppression list --source hard: usage error, exit 2" "^2 .*--source must be" "$? $out"
pi_ctl suppression export --inbox "$A1" >"$SVC_DIR/a1.csv"
t_eq "export: exit 0, the CSV header" "0 address,source,reason,created_at,expires_at" "$? $(head -1 "$SVC_DIR/a1.csv" | tr -d '\r')"
t_eq "export: a header and 5 records, CRLF" "6 6" "$(wc -l <"$SVC_DIR/a1.csv") $(grep -c $'\r$' "$SVC_DIR/a1.csv")"
t_eq "export guards formulas: the reason starts with '=" \
    "alpha@other.test,manual,\"'=HYPERLINK(\"\"http://evil\"\")\"" \
    "$(grep '^alpha@' "$SVC_DIR/a1.csv" | cut -d, -f1-3)"
t_match "export keeps the expiry" "^later@remote.test,manual,,[0-9T:.Z-]+,${EXP}" "$(grep '^later@' "$SVC_DIR/a1.csv" | tr -d '\r')"
out=$(pi_ctl --json suppression import --inbox "$A2" "$SVC_DIR/a1.csv")
t_eq "import into another inbox: 5 imported, 0 skipped" "5 0 5" \
    "$(for k in imported skipped total; do echo "$out" | json_get $k; done | tr '\n' ' ' | sed 's/ $//')"
pi_ctl suppression export --inbox "$A2" >"$SVC_DIR/a2.csv"
t_eq "round trip: the export of the copy is the same file" "" "$(diff "$SVC_DIR/a1.csv" "$SVC_DIR/a2.csv")"
t_eq "the formula guard came off on import" '=HYPERLINK("http://evil")' \
    "$(q "SELECT reason FROM postinbox.suppression WHERE inbox_id = '$A2_ID' AND address = 'alpha@other.test'")"
t_eq "audited: suppression.import rows" 5 \
    "$(q "SELECT count(*) FROM postinbox.audit WHERE inbox_id = '$A2_ID' AND action = 'suppression.import'")"
out=$(pi_ctl suppression import --inbox "$A2" - <"$SVC_DIR/a1.csv")
t_match "import again from stdin: all 5 skipped and counted" "imported 0 of 5 .*5 already on it" "$out"
printf 'address,reason\nnew1@remote.test,ok\n"broken@,remote.test",x\nnew2@remote.test,ok\n' >"$SVC_DIR/bad.csv"
BEFORE=$(rows "$A2_ID")
out=$(pi_ctl suppression import --inbox "$A2" "$SVC_DIR/bad.csv" 2>&1)
t_match "a bad address: exit 1 naming line 3, nothing imported" "^1 .*bad.csv: line 3: address: .*nothing imported" "$? $out"
t_eq "... no row of the file is there" "$BEFORE 0" \
    "$(rows "$A2_ID") $(q "SELECT count(*) FROM postinbox.suppression WHERE address LIKE 'new_@remote.test'")"
printf 'address\nok1@remote.test\n"unclosed@remote.test\n' >"$SVC_DIR/bad2.csv"
out=$(pi_ctl suppression import --inbox "$A2" "$SVC_DIR/bad2.csv" 2>&1)
t_match "an unclosed quote: exit 1 naming line 3" "^1 .*line 3: a quoted field is not closed" "$? $out"
printf 'address,source,expires_at\nb@remote.test,bounce,2099-01-01T00:00:00Z\n' >"$SVC_DIR/bad3.csv"
out=$(pi_ctl suppression import --inbox "$A2" "$SVC_DIR/bad3.csv" 2>&1)
t_match "an expiry on a bounce entry: exit 1" "^1 .*line 2: expiry: only manual entries may expire" "$? $out"
printf 'address,colour\na@remote.test,red\n' >"$SVC_DIR/bad4.csv"
out=$(pi_ctl suppression import --inbox "$A2" "$SVC_DIR/bad4.csv" 2>&1)
t_match "an unknown column: exit 1" "^1 .*unknown column \"colour\"" "$? $out"
t_eq "none of the bad files imported anything" "$BEFORE 0" \
    "$(rows "$A2_ID") $(q "SELECT count(*) FROM postinbox.suppression WHERE address IN ('ok1@remote.test', 'a@remote.test', 'b@remote.test')")"
printf 'address\nplain1@remote.test\nPlain2@Remote.test\nplain1@remote.test\n' | pi_ctl --json suppression import --inbox "$A3" - >"$SVC_DIR/imp.json"
t_eq "an address-only CSV: manual entries, a duplicate line skipped" "2 1 manual" \
    "$(json_get imported <"$SVC_DIR/imp.json") $(json_get skipped <"$SVC_DIR/imp.json") $(q "SELECT string_agg(DISTINCT source, ',') FROM postinbox.suppression WHERE inbox_id = '$A3_ID'")"
pi_ctl suppression export --inbox "$A1" --format json >"$SVC_DIR/a1.json"
t_eq "export --format json: total and bounceReason" "5 user_unknown" \
    "$(json_get total <"$SVC_DIR/a1.json") $(python3 -c 'import json,sys; print([r["bounceReason"] for r in json.load(open(sys.argv[1]))["data"] if r["address"] == "gone@bounce.test"][0])' "$SVC_DIR/a1.json")"
pi_ctl suppression remove "$A3" --address plain1@remote.test >/dev/null
pi_ctl suppression remove "$A3" --address plain2@remote.test >/dev/null
out=$(pi_ctl --json suppression import --inbox "$A3" "$SVC_DIR/a1.json")
t_eq "import of the JSON export: 5 imported, the bounce reason kept" "5 user_unknown" \
    "$(echo "$out" | json_get imported) $(q "SELECT bounce_reason FROM postinbox.suppression WHERE inbox_id = '$A3_ID' AND address = 'gone@bounce.test'")"
out=$(pi_ctl suppression remove "$A1" --address angry@remote.test --reason "operator checked")
t_match "the operator removes the complaint entry" "removed angry@remote.test \(complaint\)" "$out"
out=$(pi_ctl suppression export --inbox "$A1" --format xml 2>&1)
t_match "export --format xml: usage error, exit 2" "^2 .*--format must be csv or json" "$? $out"

# ---- expiry end to end through the milter -------------------------------------------------
read -r E_ID E <<<"$(pi_inbox "$A" expiring --daily-limit 1000 --burst-limit 1000)"
pi_ctl login grant --login alice@example.test --inbox "$E" >/dev/null
AUTH=(-a PLAIN -au alice@example.test -ap secret)
SOON=$(iso_in 2)
r=$(api POST "/v1/inboxes/$E_ID/suppressions" "$KA" "{\"address\": \"brief@remote.test\", \"reason\": \"pause\", \"expiresAt\": \"$SOON\"}")
t_eq "an entry expiring in 2 s: 201" 201 "$(code "$r")"
t_eq "lookup(): the inbox has a list" t "$(q "SELECT suppressions FROM postinbox.lookup('$E')")"
r=$(smtp_send "${AUTH[@]}" --from "$E" --to brief@remote.test)
t_match "before the expiry: 550 5.1.1 at RCPT" "^550 5\.1\.1 .*<brief@remote\.test> is on the suppression list" "$r"
for _ in $(seq 1 50); do
    [ "$(q "SELECT now() > '$SOON'::timestamptz")" = t ] && break
    sleep 0.1
done
t_eq "after the expiry: lookup() says no list" f "$(q "SELECT suppressions FROM postinbox.lookup('$E')")"
r=$(smtp_send "${AUTH[@]}" --from "$E" --to brief@remote.test)
t_match "after the expiry: accepted" "^250 " "$r"
t_eq "the expired entry is still listed, with its expiry" "1 $SOON" \
    "$(body "$(api GET "/v1/inboxes/$E_ID/suppressions" "$KA")" | json_get total) $(body "$(api GET "/v1/inboxes/$E_ID/suppressions" "$KA")" | json_get data.0.expiresAt)"
r=$(api POST "/v1/inboxes/$E_ID/suppressions" "$KA" '{"address": "brief@remote.test", "reason": "again"}')
t_eq "adding the address again replaces the expired entry: 201, no expiry" "201 again null" \
    "$(code "$r") $(body "$r" | json_get reason) $(body "$r" | json_get expiresAt)"
r=$(smtp_send "${AUTH[@]}" --from "$E" --to brief@remote.test)
t_match "... and it suppresses again" "^550 5\.1\.1 " "$r"
out=$(pi_ctl --json suppression add "$E" --address cli@remote.test --expires "$(iso_in 60)")
t_match "suppression add --expires" "^20[0-9-]+T" "$(echo "$out" | json_get expiresAt)"
out=$(pi_ctl suppression add "$E" --address cli2@remote.test --expires 2001-01-01T00:00:00Z 2>&1)
t_match "suppression add --expires in the past: exit 1" "^1 .*must be in the future" "$? $out"

t_summary
