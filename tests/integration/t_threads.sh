#!/usr/bin/env bash
# t_threads.sh -- threads (sql/functions/threads.sql): mail through a real
# Postfix with the milter, then the thread rows and what `postinboxctl
# threads` / `thread show` print.  A reply chain, a reply to an unknown
# parent, a child before its parent, a grandchild joining two threads, a
# reference cycle, duplicate Message-IDs, 2,000 garbage References, one
# message to two inboxes; then record_message() called directly for the
# cases SMTP cannot time: two related messages committed at the same time.
set -u
. "$(dirname "$0")/common.sh"
pi_setup

A=$(pi_account "Acme" acme)
read -r BOB_ID BOB <<<"$(pi_inbox "$A" bob)"
read -r SALES_ID SALES <<<"$(pi_inbox "$A" sales)"
read -r EMPTY_ID EMPTY <<<"$(pi_inbox "$A" empty)"
pi_ctl login grant --login alice@example.test --inbox "$BOB" >/dev/null
AUTH=(-a PLAIN -au alice@example.test -ap secret)

ctl_rc() {
    pi_ctl "$@" >/dev/null 2>&1
    echo $?
}
# thread_of INBOX_ID MESSAGE-ID: the thread of that message row (one row expected)
thread_of() {
    svc_psql "SELECT string_agg(thread_id::text, ',') FROM postinbox.message
               WHERE inbox_id = '$1' AND message_id_header = '$2'"
}
# thread_row THREAD_ID: count|subject|raw subject|participants
thread_row() {
    svc_psql "SELECT message_count, coalesce(subject, '-'), coalesce(raw_subject, '-'),
                     array_to_string(participants, ',') FROM postinbox.thread WHERE id = '$1'"
}
# in MSGID SUBJECT [swaks args]: inbound from ext@remote.test to bob
in_bob() {
    local mid=$1 subject=$2
    shift 2
    smtp_send --from ext@remote.test --to "$BOB" --header "Message-Id: $mid" --header "Subject: $subject" "$@"
}

# --- a reply chain -------------------------------------------------------------
r1=$(in_bob "<c1@remote.test>" "Plan" --header "From: \"Ext, Person\" <Ext@Remote.TEST>" \
       --header "Cc: =?utf-8?q?Caf=C3=A9?= <carol@remote.test>, Team: t1@remote.test, t2@remote.test;")
r2=$(smtp_send "${AUTH[@]}" --from "$BOB" --to ext@remote.test --header "Message-Id: <c2@acme.test>" \
       --header "Subject: Re: Plan" --header "In-Reply-To: <c1@remote.test>" \
       --header "References: <c1@remote.test>" --header "From: Bob <$BOB>" --header "To: ext@remote.test")
r3=$(in_bob "<c3@remote.test>" "RE: AW: Plan" --header "In-Reply-To: <c2@acme.test>" \
       --header "References: <c1@remote.test> <c2@acme.test>" --header "From: ext@remote.test" \
       --header "To: $BOB" --header "Cc: dave@remote.test, undisclosed-recipients:;, <>")
t_match "reply chain: three messages accepted" '^250 .* 250 .* 250 ' "$r1 $r2 $r3"
CHAIN=$(thread_of "$BOB_ID" "<c1@remote.test>")
t_match "reply chain: the first message has a thread" '^[0-9a-f-]{36}$' "$CHAIN"
t_eq "reply chain: the reply joins it" "$CHAIN" "$(thread_of "$BOB_ID" "<c2@acme.test>")"
t_eq "reply chain: the reply to the reply joins it" "$CHAIN" "$(thread_of "$BOB_ID" "<c3@remote.test>")"
t_eq "reply chain: count 3, subject without prefixes, raw subject of the first, participants in order" \
    "3|Plan|Plan|ext@remote.test,bob--acme@$SANDBOX,carol@remote.test,t1@remote.test,t2@remote.test,dave@remote.test" \
    "$(thread_row "$CHAIN")"
t_eq "reply chain: first and last message time are the first and last row's" "t|t" \
    "$(svc_psql "SELECT t.first_message_at = min(m.created_at), t.last_message_at = max(m.created_at)
                   FROM postinbox.thread t JOIN postinbox.message m ON m.thread_id = t.id
                  WHERE t.id = '$CHAIN' GROUP BY t.id")"
t_eq "reply chain: reference ids stored as bare <ids>" "{<c1@remote.test>,<c2@acme.test>}" \
    "$(svc_psql "SELECT reference_ids FROM postinbox.message WHERE message_id_header = '<c3@remote.test>'")"
t_eq "message.received (and message.parsed) events name the thread" "$CHAIN $CHAIN" \
    "$(svc_psql "SELECT string_agg(payload->>'threadId', ' ') FROM postinbox.event WHERE payload->>'messageIdHeader' = '<c3@remote.test>'")"

# --- reply to an unknown parent ----------------------------------------------------
in_bob "<lost2@remote.test>" "Re: Lost" --header "In-Reply-To: <never-seen@remote.test>" >/dev/null
LOST=$(thread_of "$BOB_ID" "<lost2@remote.test>")
t_match "reply to an unknown parent: a thread of its own" '^[0-9a-f-]{36}$' "$LOST"
[ "$LOST" != "$CHAIN" ] && t_ok "reply to an unknown parent: not the chain's thread" \
    || t_fail "reply to an unknown parent: not the chain's thread"
t_eq "reply to an unknown parent: count 1, subject Lost, raw subject kept" "1|Lost|Re: Lost|ext@remote.test,bob--acme@$SANDBOX" \
    "$(thread_row "$LOST")"
in_bob "<lost3@remote.test>" "Re: Lost" --header "In-Reply-To: <never-seen@remote.test>" \
    --header "References: <never-seen@remote.test>" >/dev/null
t_eq "a sibling under the same missing parent joins it" "$LOST" "$(thread_of "$BOB_ID" "<lost3@remote.test>")"

# --- child before parent -------------------------------------------------------------
in_bob "<kid@remote.test>" "Re: Kid" --header "In-Reply-To: <parent@remote.test>" \
    --header "References: <parent@remote.test>" >/dev/null
KID=$(thread_of "$BOB_ID" "<kid@remote.test>")
in_bob "<parent@remote.test>" "Kid" >/dev/null
t_eq "parent after its child: joins the child's thread" "$KID" "$(thread_of "$BOB_ID" "<parent@remote.test>")"
t_eq "parent after its child: count 2, subject of the earliest message" "2|Kid|Re: Kid|ext@remote.test,bob--acme@$SANDBOX" \
    "$(thread_row "$KID")"

# --- a grandchild linking two threads merges them ----------------------------------
in_bob "<p@remote.test>" "P" --header "From: p@remote.test" >/dev/null
sleep 0.05
in_bob "<q@remote.test>" "Q" --header "From: q@remote.test" >/dev/null
TP=$(thread_of "$BOB_ID" "<p@remote.test>")
TQ=$(thread_of "$BOB_ID" "<q@remote.test>")
[ "$TP" != "$TQ" ] && t_ok "merge: two unrelated messages, two threads" || t_fail "merge: two unrelated messages, two threads"
in_bob "<g@remote.test>" "Re: Q" --header "From: g@remote.test" --header "In-Reply-To: <q@remote.test>" \
    --header "References: <p@remote.test> <q@remote.test>" >/dev/null
t_eq "merge: all three in the older thread" "$TP,$TP,$TP" \
    "$(for m in p q g; do thread_of "$BOB_ID" "<$m@remote.test>"; done | paste -sd,)"
t_eq "merge: the other thread is deleted" 0 "$(svc_psql "SELECT count(*) FROM postinbox.thread WHERE id = '$TQ'")"
t_eq "merge: count, subject and participants recomputed" "3|P|P|p@remote.test,bob--acme@$SANDBOX,q@remote.test,g@remote.test" \
    "$(thread_row "$TP")"
t_eq "merge: first and last message time recomputed" "t|t" \
    "$(svc_psql "SELECT t.first_message_at = min(m.created_at), t.last_message_at = max(m.created_at)
                   FROM postinbox.thread t JOIN postinbox.message m ON m.thread_id = t.id
                  WHERE t.id = '$TP' GROUP BY t.id")"

# --- a reference cycle: A replies to B, B replies to A ------------------------------------
in_bob "<cyA@remote.test>" "cycle" --header "In-Reply-To: <cyB@remote.test>" \
    --header "References: <cyB@remote.test>" >/dev/null
in_bob "<cyB@remote.test>" "cycle" --header "In-Reply-To: <cyA@remote.test>" \
    --header "References: <cyA@remote.test> <cyB@remote.test>" >/dev/null
CYC=$(thread_of "$BOB_ID" "<cyA@remote.test>")
t_eq "cycle: both in one thread" "$CYC" "$(thread_of "$BOB_ID" "<cyB@remote.test>")"
t_eq "cycle: count 2" 2 "$(svc_psql "SELECT message_count FROM postinbox.thread WHERE id = '$CYC'")"
r=$(in_bob "<self@remote.test>" "self" --header "References: <self@remote.test>")
t_match "a message referencing itself is accepted" '^250 ' "$r"
t_eq "a message referencing itself: a thread of one" 1 \
    "$(svc_psql "SELECT message_count FROM postinbox.thread WHERE id = '$(thread_of "$BOB_ID" "<self@remote.test>")'")"

# --- duplicate Message-IDs ----------------------------------------------------------------
r=$(smtp_send "${AUTH[@]}" --from "$BOB" --to "$BOB" --header "Message-Id: <note@acme.test>" --header "Subject: note to self")
t_match "an inbox mailing itself: accepted" '^250 ' "$r"
t_eq "an inbox mailing itself: an outbound and an inbound row" "inbound,outbound" \
    "$(svc_psql "SELECT string_agg(direction, ',' ORDER BY direction) FROM postinbox.message
                  WHERE inbox_id = '$BOB_ID' AND message_id_header = '<note@acme.test>'")"
NOTE=$(svc_psql "SELECT DISTINCT thread_id FROM postinbox.message WHERE message_id_header = '<note@acme.test>'")
t_match "an inbox mailing itself: both rows in one thread" '^[0-9a-f-]{36}$' "$NOTE"
t_eq "an inbox mailing itself: the thread counts both rows" 2 \
    "$(svc_psql "SELECT message_count FROM postinbox.thread WHERE id = '$NOTE'")"
in_bob "<note@acme.test>" "note to self (resent)" >/dev/null
t_eq "the same Message-ID arriving again joins that thread" "$NOTE,$NOTE,$NOTE" "$(thread_of "$BOB_ID" "<note@acme.test>")"

# --- 2,000 garbage References ------------------------------------------------------
# The real root first (as References has it), then 2,000 tokens of junk,
# folded every 20 tokens; no In-Reply-To, so only References can link it.
msg=$SVC_DIR/garbage.eml
{
    printf 'From: ext@remote.test\r\nTo: %s\r\nSubject: Re: Plan\r\nMessage-Id: <junk@remote.test>\r\n' "$BOB"
    printf 'References: <c1@remote.test>'
    for i in $(seq 1 2000); do
        case $((i % 4)) in
            0) printf ' <junk-%d@garbage.test>' "$i" ;;
            1) printf ' junk%d' "$i" ;;
            2) printf ' <<>>%d' "$i" ;;
            3) if (( i % 100 == 3 )); then printf ' <%0300d>' "$i"   # too long to be an id
               else printf ' <not an id %d>' "$i"; fi ;;
        esac
        (( i % 20 == 0 )) && printf '\r\n'
    done
    printf '\r\n\r\nbody\r\n'
} > "$msg"
r=$(smtp_send --from ext@remote.test --to "$BOB" --data "@$msg")
t_match "2,000 garbage References: accepted" '^250 ' "$r"
t_eq "2,000 garbage References: joins the root's thread" "$CHAIN" "$(thread_of "$BOB_ID" "<junk@remote.test>")"
t_eq "2,000 garbage References: the root and the last 49 well-formed ids kept" "50|t" \
    "$(svc_psql "SELECT cardinality(reference_ids), '<c1@remote.test>' = ANY (reference_ids)
                   FROM postinbox.message WHERE message_id_header = '<junk@remote.test>'")"
# In-Reply-To <a> <c>; References <r1>, x1..x200, <r3>: the last 49 are x153..x200 and <r3>.
t_eq "reference ids: In-Reply-To's, the first and the last 49 of References" "52|t|f" \
    "$(svc_psql "SELECT cardinality(ids), ids @> '{<a>,<c>,<r1>,<r3>,<x153>,<x200>}', '<x152>' = ANY (ids)
                   FROM postinbox.message_reference_ids('<a> junk <c>',
                          '<r1> ' || (SELECT string_agg('<x' || i || '>', ' ') FROM generate_series(1, 200) i)
                          || ' <r3>') AS ids")"

# --- one message to two inboxes: two threads, one per inbox ------------------------------
r=$(smtp_send --from ext@remote.test --to "$BOB,$SALES" --header "Message-Id: <two@remote.test>" --header "Subject: to both")
t_match "to two inboxes: accepted" '^250 ' "$r"
TB=$(thread_of "$BOB_ID" "<two@remote.test>")
TS=$(thread_of "$SALES_ID" "<two@remote.test>")
[ -n "$TB" ] && [ -n "$TS" ] && [ "$TB" != "$TS" ] && t_ok "to two inboxes: two threads" \
    || t_fail "to two inboxes: two threads" "bob=$TB sales=$TS"
t_eq "to two inboxes: each thread in its own inbox" "$BOB_ID|$SALES_ID" \
    "$(svc_psql "SELECT (SELECT inbox_id FROM postinbox.thread WHERE id = '$TB') || '|' ||
                        (SELECT inbox_id FROM postinbox.thread WHERE id = '$TS')")"
smtp_send --from ext@remote.test --to "$SALES,$BOB" --header "Message-Id: <two-re@remote.test>" \
    --header "In-Reply-To: <two@remote.test>" --header "Subject: Re: to both" >/dev/null
t_eq "to two inboxes: the reply joins each inbox's own thread" "$TB|$TS" \
    "$(thread_of "$BOB_ID" "<two-re@remote.test>")|$(thread_of "$SALES_ID" "<two-re@remote.test>")"
t_eq "threads never span inboxes" 0 \
    "$(svc_psql "SELECT count(*) FROM postinbox.message m JOIN postinbox.thread t ON t.id = m.thread_id
                  WHERE t.inbox_id <> m.inbox_id")"
t_eq "every thread's count is its number of rows" 0 \
    "$(svc_psql "SELECT count(*) FROM postinbox.thread t
                  WHERE t.message_count <> (SELECT count(*) FROM postinbox.message m WHERE m.thread_id = t.id)")"

# --- postinboxctl threads ----------------------------------------------------------
out=$(pi_ctl --json threads "$SALES")
t_eq "threads SALES: only sales's thread" "1|$TS|$SALES_ID" \
    "$(echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("%d|%s|%s" % (d["total"], ",".join(t["id"] for t in d["data"]), ",".join(t["inboxId"] for t in d["data"])))')"
out=$(pi_ctl --json threads "$BOB")
BOB_THREADS=$(svc_psql "SELECT count(*) FROM postinbox.thread WHERE inbox_id = '$BOB_ID'")
t_eq "threads BOB: total counts bob's threads" "$BOB_THREADS" "$(echo "$out" | json_get total)"
t_eq "threads BOB: never sales's thread" 0 "$(echo "$out" | grep -c "$TS")"
t_eq "threads --json: the fields" "firstMessageAt,id,inboxId,lastMessageAt,messageCount,participants,rawSubject,subject" \
    "$(echo "$out" | python3 -c 'import json,sys; print(",".join(sorted(json.load(sys.stdin)["data"][0])))')"
t_eq "threads: newest first" "$(svc_psql "SELECT string_agg(id::text, ',' ORDER BY last_message_at DESC, id DESC)
                                           FROM postinbox.thread WHERE inbox_id = '$BOB_ID'")" \
    "$(echo "$out" | python3 -c 'import json,sys; print(",".join(t["id"] for t in json.load(sys.stdin)["data"]))')"
t_eq "threads: the chain's figures (with the garbage message)" "4|Plan|ext@remote.test" \
    "$(echo "$out" | python3 -c '
import json, sys
t = [t for t in json.load(sys.stdin)["data"] if t["id"] == sys.argv[1]][0]
print("%d|%s|%s" % (t["messageCount"], t["subject"], t["participants"][0]))' "$CHAIN")"
t_eq "threads: firstMessageAt is the first row's time, ISO-8601 UTC" \
    "$(svc_psql "SELECT to_char(min(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')
                   FROM postinbox.message WHERE thread_id = '$CHAIN'")" \
    "$(echo "$out" | python3 -c 'import json,sys; print([t for t in json.load(sys.stdin)["data"] if t["id"] == sys.argv[1]][0]["firstMessageAt"])' "$CHAIN")"
page=$(pi_ctl --json threads "$BOB" --limit 2 --offset 1)
t_eq "threads --limit 2 --offset 1: the second and third" \
    "$(echo "$out" | python3 -c 'import json,sys; print(",".join(t["id"] for t in json.load(sys.stdin)["data"][1:3]))')" \
    "$(echo "$page" | python3 -c 'import json,sys; print(",".join(t["id"] for t in json.load(sys.stdin)["data"]))')"
t_eq "threads --limit: total is still every thread" "$BOB_THREADS" "$(echo "$page" | json_get total)"
t_eq "threads of an inbox without mail" 0 "$(pi_ctl --json threads "$EMPTY_ID" | json_get total)"
t_match "threads: a table for people" "^LAST MESSAGE +MESSAGES +ID +SUBJECT +PARTICIPANTS"$'\n'".*\\(1-2 of $BOB_THREADS\\)" \
    "$(pi_ctl threads "$BOB" --limit 2)"
t_eq "threads --limit 101: exit 2" 2 "$(ctl_rc threads "$BOB" --limit 101)"
t_eq "threads --offset -1: exit 2" 2 "$(ctl_rc threads "$BOB" --offset -1)"
t_eq "threads of an unknown inbox: exit 1" 1 "$(ctl_rc threads nobody@acme.test)"
t_eq "threads without an inbox: exit 2" 2 "$(ctl_rc threads)"

out=$(pi_ctl --json thread show "$CHAIN")
t_eq "thread show --json: the thread and its messages in order" "$CHAIN|4|<c1@remote.test>,<c2@acme.test>,<c3@remote.test>,<junk@remote.test>" \
    "$(echo "$out" | python3 -c 'import json,sys; t=json.load(sys.stdin); print("%s|%d|%s" % (t["id"], t["messageCount"], ",".join(m["messageId"] for m in t["messages"])))')"
t_eq "thread show --limit 1 --offset 2" "<c3@remote.test>" \
    "$(pi_ctl --json thread show "$CHAIN" --limit 1 --offset 2 | python3 -c 'import json,sys; print(",".join(m["messageId"] for m in json.load(sys.stdin)["messages"]))')"
out=$(pi_ctl thread show "$CHAIN")
t_match "thread show: key lines, then the messages" "^id: $CHAIN"$'\n'".*subject: Plan"$'\n'".*messageCount: 4"$'\n'".*CREATED +DIRECTION.*"$'\n'".*inbound +received.*Plan"$'\n'".*outbound +sent.*Re: Plan"$'\n'".*\\(1-4 of 4\\)" "$out"
t_eq "thread show of an unknown thread: exit 1" 1 "$(ctl_rc thread show 00000000-0000-0000-0000-000000000000)"
t_eq "thread show of a non-uuid: exit 2" 2 "$(ctl_rc thread show nope)"
t_eq "messages --json: threadId" "$CHAIN" \
    "$(pi_ctl --json messages "$BOB" | python3 -c 'import json,sys; print([m for m in json.load(sys.stdin)["data"] if m["messageId"] == "<c2@acme.test>"][0]["threadId"])')"
t_match "messages: a THREAD column" "THREAD" "$(pi_ctl messages "$BOB" --limit 1)"
t_match "messages: the thread id in the table" "$TB" "$(pi_ctl messages "$BOB" --limit 1)"

# --- record_message directly: NULL ids, and two related messages at once ----------------
# doc MSGID IRT REFS SUBJECT INBOX...: a record_message document ("-" is null)
doc() {
    python3 - "$@" <<'PY'
import json, sys
a = sys.argv[1:]
v = lambda s: None if s == "-" else s
print(json.dumps({"queueId": "TEST", "envelopeFrom": "ext@remote.test", "size": 10, "messageId": v(a[0]),
                  "inReplyTo": v(a[1]), "references": v(a[2]), "subject": v(a[3]),
                  "participants": ["Ext@Remote.test", "", "no-at-sign", None, 5],
                  "recipients": [{"inbox": i, "addresses": ["x@y.test"]} for i in a[4:]]}))
PY
}
record() {
    svc_psql "SELECT postinbox.record_message(\$j\$$1\$j\$::jsonb)" >/dev/null
}
record "$(doc - - - - "$BOB_ID")"
record "$(doc - - - - "$BOB_ID")"
t_eq "no Message-ID, no references: each its own thread" 2 \
    "$(svc_psql "SELECT count(DISTINCT thread_id) FROM postinbox.message WHERE inbox_id = '$BOB_ID' AND queue_id = 'TEST'")"
t_eq "participants: only addresses, lower-cased" "ext@remote.test" \
    "$(svc_psql "SELECT DISTINCT array_to_string(t.participants, ',') FROM postinbox.thread t
                  JOIN postinbox.message m ON m.thread_id = t.id WHERE m.queue_id = 'TEST'")"
record "$(doc '<garbage id with spaces>' 'junk' '<<<>>>' 'x' "$BOB_ID")"
t_eq "a malformed Message-ID and References: stored, a thread of one" "1|{}" \
    "$(svc_psql "SELECT t.message_count, m.reference_ids FROM postinbox.message m JOIN postinbox.thread t ON t.id = m.thread_id
                  WHERE m.message_id_header = '<garbage id with spaces>'")"

for order in parent-first child-first; do
    root="<race-$order@remote.test>"
    child="<race-$order-re@remote.test>"
    if [ "$order" = parent-first ]; then
        first=$(doc "$root" - - "race" "$SALES_ID"); second=$(doc "$child" "$root" "$root" "Re: race" "$SALES_ID")
    else
        first=$(doc "$child" "$root" "$root" "Re: race" "$SALES_ID"); second=$(doc "$root" - - "race" "$SALES_ID")
    fi
    waited=$(pi_ms_behind "SELECT postinbox.record_message(\$j\$$first\$j\$::jsonb)" record "$second")
    t_eq "two related messages at once ($order): one thread" \
        "$(thread_of "$SALES_ID" "$root")" "$(thread_of "$SALES_ID" "$child")"
    (( waited >= 1000 )) && t_ok "two related messages at once ($order): the second waited for the first" \
        || t_fail "two related messages at once ($order): the second waited for the first" "${waited} ms"
done
waited=$(pi_ms_behind "SELECT postinbox.record_message(\$j\$$(doc "<unrelated2@remote.test>" - - "y" "$SALES_ID")\$j\$::jsonb)" \
             record "$(doc "<unrelated3@remote.test>" - - "z" "$SALES_ID")")
(( waited < 1000 )) && t_ok "an unrelated message does not wait" || t_fail "an unrelated message does not wait" "${waited} ms"

# 20 replies of one conversation at once, each to both inboxes in
# alternating order: one thread per inbox, no deadlock, nothing lost.
docs=()
for i in $(seq 1 20); do
    if (( i % 2 )); then inboxes=("$BOB_ID" "$SALES_ID"); else inboxes=("$SALES_ID" "$BOB_ID"); fi
    refs=- irt=-
    if (( i > 1 )); then
        refs="<burst-1@remote.test> <burst-$((i - 1))@remote.test>"
        irt="<burst-$((i - 1))@remote.test>"
    fi
    docs+=("$(doc "<burst-$i@remote.test>" "$irt" "$refs" "burst" "${inboxes[@]}")")
done
pids=()
for d in "${docs[@]}"; do
    ( record "$d" ) &
    pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
t_eq "20 related messages at once: every record committed" 0 "$failed"
t_eq "20 related messages at once: one thread per inbox, 20 messages each" "$(printf '%s\n' "$BOB_ID:20:20" "$SALES_ID:20:20" | LC_ALL=C sort | paste -sd,)" \
    "$(svc_psql "SELECT string_agg(x, ',' ORDER BY x COLLATE \"C\") FROM (
                   SELECT m.inbox_id || ':' || count(*) || ':' || max(t.message_count) AS x
                     FROM postinbox.message m JOIN postinbox.thread t ON t.id = m.thread_id
                    WHERE m.message_id_header LIKE '<burst-%' GROUP BY m.inbox_id HAVING count(DISTINCT m.thread_id) = 1) s")"

# 20 replies at once, each to a different message of that conversation
# (no id in common, so nothing serialises them but the thread rows), to
# both inboxes in alternating order: no deadlock, nothing lost.
docs=()
for i in $(seq 1 20); do
    if (( i % 2 )); then inboxes=("$BOB_ID" "$SALES_ID"); else inboxes=("$SALES_ID" "$BOB_ID"); fi
    docs+=("$(doc "<fan-$i@remote.test>" "<burst-$i@remote.test>" - "Re: burst" "${inboxes[@]}")")
done
pids=()
for d in "${docs[@]}"; do
    ( record "$d" ) &
    pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
t_eq "20 replies to 20 messages of one thread at once: every record committed" 0 "$failed"
t_eq "20 replies to 20 messages of one thread at once: still one thread per inbox" "$(printf '%s\n' "$BOB_ID:40:40" "$SALES_ID:40:40" | LC_ALL=C sort | paste -sd,)" \
    "$(svc_psql "SELECT string_agg(x, ',' ORDER BY x COLLATE \"C\") FROM (
                   SELECT m.inbox_id || ':' || count(*) || ':' || max(t.message_count) AS x
                     FROM postinbox.message m JOIN postinbox.thread t ON t.id = m.thread_id
                    WHERE m.message_id_header LIKE '<burst-%' OR m.message_id_header LIKE '<fan-%'
                    GROUP BY m.inbox_id HAVING count(DISTINCT m.thread_id) = 1) s")"

t_summary
