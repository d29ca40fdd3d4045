#!/usr/bin/env bash
# t_record_batch.sh -- record_fast() (sql/functions/record.sql), the
# statement behind the milter's group commit, against a real PostgreSQL:
# which documents it writes and which it leaves to record_message(), and
# that what it writes is what record_message() writes for the same
# document, and that two writers at once (two milters) put related
# messages in one thread.  (The batching itself is
# tests/unit/test_record_batch.c; every other integration test records its
# mail through both paths.)
set -u
. "$(dirname "$0")/common.sh"
pi_setup --no-postfix --no-milter

A=$(pi_account "Acme" acme)
read -r BOB_ID BOB <<<"$(pi_inbox "$A" bob)"
read -r SUE_ID SUE <<<"$(pi_inbox "$A" sue)"

# doc KEY=VALUE...: a record_message() document; out=INBOX_ID makes it
# outbound from that inbox, in=INBOX_ID inbound to it (both: mail between
# two local inboxes).
doc() {
    python3 - "$@" <<'PY'
import json, sys
a = dict(x.split("=", 1) for x in sys.argv[1:])
d = {"queueId": a.get("qid", "Q1"), "envelopeFrom": a.get("from", "ext@remote.test"), "size": 1200,
     "messageId": a.get("mid"), "from": a.get("from", "ext@remote.test"), "to": "r@remote.test",
     "subject": a.get("subject", "hello"), "participants": [a.get("from", "ext@remote.test"), "r@remote.test"]}
if "irt" in a: d["inReplyTo"] = a["irt"]
if "refs" in a: d["references"] = a["refs"]
if "out" in a:
    d["sender"] = a["out"]; d["senderRecipients"] = ["r@remote.test", "s@remote.test"]
d["recipients"] = [{"inbox": a["in"], "addresses": ["x@sandbox.test"]}] if "in" in a else []
if "report" in a: d["report"] = {"kind": "dsn", "style": "rfc3464", "recipients": []}
if "parsed" in a: d["parsed"] = {"text": "Hi there,\n  see   you", "reply": None, "html": None,
                                 "attachments": [], "defects": 0}
print(json.dumps(d))
PY
}
# fast DOC...: record_fast over those documents; prints the positions it left
fast() {
    local docs
    docs="[$(IFS=,; echo "$*")]"
    svc_psql "SELECT postinbox.record_fast(\$j\$$docs\$j\$::jsonb)"
}
one() {
    svc_psql "SELECT postinbox.record_message(\$j\$$1\$j\$::jsonb)" >/dev/null
}
rows() {   # rows MID: message rows with that Message-ID
    svc_psql "SELECT count(*) FROM postinbox.message WHERE message_id_header = '$1'"
}
thread_of() {   # thread_of INBOX MID
    svc_psql "SELECT thread_id FROM postinbox.message WHERE inbox_id = '$1' AND message_id_header = '$2'"
}
total_sent() {
    svc_psql "SELECT total_sent FROM postinbox.inbox WHERE id = '$1'"
}
# refused NAME REGEX SQL: SQL fails with an error matching REGEX; success,
# or a failure of another kind (no connection, a syntax error), fails NAME.
refused() {
    local err
    if err=$(svc_psql "$3" 2>&1 >/dev/null); then
        t_fail "$1" "the statement succeeded"
        return 0
    fi
    t_match "$1" "$2" "$err"
}

# --- new mail: written, nothing left ---------------------------------------
t_eq "three new messages: none left for record_message" "{}" \
    "$(fast "$(doc mid='<a1@x>' out="$BOB_ID")" "$(doc mid='<a2@x>' out="$BOB_ID")" "$(doc mid='<a3@x>' in="$BOB_ID")")"
t_eq "one row each" "1 1 1" "$(rows '<a1@x>') $(rows '<a2@x>') $(rows '<a3@x>')"
t_eq "three threads of one message each" "3|3" \
    "$(svc_psql "SELECT count(DISTINCT thread_id), sum(t.message_count) FROM postinbox.message m
                  JOIN postinbox.thread t ON t.id = m.thread_id WHERE message_id_header IN ('<a1@x>','<a2@x>','<a3@x>')")"
t_eq "events: two message.sent, one message.received" "message.received:1 message.sent:2" \
    "$(svc_psql "SELECT string_agg(type || ':' || n, ' ' ORDER BY type) FROM (SELECT e.type, count(*) n
                  FROM postinbox.event e JOIN postinbox.message m ON m.id = e.message_id
                  WHERE m.message_id_header IN ('<a1@x>','<a2@x>','<a3@x>') GROUP BY 1) s")"
t_eq "total_sent counts the recipients of the outbound ones" 4 "$(total_sent "$BOB_ID")"

# --- the same document both ways gives the same rows -------------------------
one "$(doc mid='<same-1@x>' out="$BOB_ID" in="$SUE_ID" subject='Re: Same' parsed=1)"
fast "$(doc mid='<same-2@x>' out="$BOB_ID" in="$SUE_ID" subject='Re: Same' parsed=1)" >/dev/null
cols="inbox_id, direction, queue_id, in_reply_to, references_header, reference_ids, envelope_from, envelope_to,
      from_header, to_header, cc_header, subject, size, status, report, content_truncated, text_body, html_body,
      reply_text, attachments, parse_defects, preview"
# diff A B: rows of query A not in B and of B not in A (0 when equal; an
# SQL error prints nothing, so it fails too)
diff() {
    svc_psql "SELECT count(*) FROM (($1 EXCEPT ALL $2) UNION ALL ($2 EXCEPT ALL $1)) d"
}
msg="SELECT $cols FROM postinbox.message WHERE message_id_header ="
t_eq "record_fast writes the message rows record_message writes" 0 "$(diff "$msg '<same-1@x>'" "$msg '<same-2@x>'")"
t_eq "...two of them (outbound for bob, inbound for sue)" 2 "$(rows '<same-2@x>')"
evs="SELECT m.inbox_id, e.type, (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(e.payload) k) AS keys,
            e.payload - '{messageId,threadId,messageIdHeader}'::text[] AS rest
       FROM postinbox.event e JOIN postinbox.message m ON m.id = e.message_id WHERE m.message_id_header ="
t_eq "...and the same events and payloads" 0 "$(diff "$evs '<same-1@x>'" "$evs '<same-2@x>'")"
t_eq "...including message.parsed for the inbound row" 1 \
    "$(svc_psql "SELECT count(*) FROM postinbox.event e JOIN postinbox.message m ON m.id = e.message_id
                  WHERE m.message_id_header = '<same-2@x>' AND e.type = 'message.parsed'")"
t_eq "...whose payload ids are its own" "t" \
    "$(svc_psql "SELECT bool_and((e.payload->>'messageId')::uuid = m.id AND (e.payload->>'threadId')::uuid = m.thread_id
                                 AND e.payload->>'messageIdHeader' = m.message_id_header)
                  FROM postinbox.event e JOIN postinbox.message m ON m.id = e.message_id
                 WHERE m.message_id_header = '<same-2@x>'")"
thr="SELECT t.subject, t.raw_subject, t.message_count, t.participants, t.inbox_id FROM postinbox.thread t
       JOIN postinbox.message m ON m.thread_id = t.id WHERE m.message_id_header ="
t_eq "...threads with subject and participants as record_message makes them" 0 \
    "$(diff "$thr '<same-1@x>'" "$thr '<same-2@x>'")"
t_eq "...(two threads, subject without Re:)" "2|Same" \
    "$(svc_psql "SELECT count(*), min(t.subject) FROM postinbox.thread t JOIN postinbox.message m ON m.thread_id = t.id
                  WHERE m.message_id_header = '<same-2@x>'")"

# --- what is left for record_message ---------------------------------------
t_eq "a reply to a stored message is left (position 2)" "{2}" \
    "$(fast "$(doc mid='<b1@x>' out="$BOB_ID")" "$(doc mid='<b2@x>' out="$BOB_ID" irt='<a1@x>')")"
t_eq "...and not written by record_fast" "1 0" "$(rows '<b1@x>') $(rows '<b2@x>')"
one "$(doc mid='<b2@x>' out="$BOB_ID" irt='<a1@x>')"
t_eq "record_message then puts it in the parent's thread" "$(thread_of "$BOB_ID" '<a1@x>')" \
    "$(thread_of "$BOB_ID" '<b2@x>')"

t_eq "parent and reply in one call: the reply is left" "{2}" \
    "$(fast "$(doc mid='<c1@x>' out="$BOB_ID")" "$(doc mid='<c2@x>' in="$BOB_ID" irt='<c1@x>')")"
one "$(doc mid='<c2@x>' in="$BOB_ID" irt='<c1@x>')"
t_eq "...and joins the parent written by the call" "$(thread_of "$BOB_ID" '<c1@x>')" "$(thread_of "$BOB_ID" '<c2@x>')"

t_eq "a child stored before its parent: the parent is left" "{1}" \
    "$(fast "$(doc mid='<d1@x>' out="$SUE_ID")" >/dev/null; one "$(doc mid='<d2@x>' out="$SUE_ID" refs='<d0@x>')";
       fast "$(doc mid='<d0@x>' out="$SUE_ID")")"
t_eq "the same ids in another inbox link nothing" "{}" "$(fast "$(doc mid='<zz@x>' out="$BOB_ID" irt='<d0@x>')")"
t_eq "a document with a report is left" "{1}" "$(fast "$(doc mid='<e1@x>' in="$BOB_ID" report=1)")"
t_eq "mail from an inbox to itself is left (its two rows share a thread)" "{1}" \
    "$(fast "$(doc mid='<f1@x>' out="$BOB_ID" in="$BOB_ID")")"
GONE=00000000-0000-4000-8000-000000000000
t_eq "a document naming no inbox we have is left (record_message refuses it)" "{2}" \
    "$(fast "$(doc mid='<g1@x>' out="$BOB_ID")" "$(doc mid='<g2@x>' out="$GONE")")"
t_eq "...the others of the call are written" "1 0" "$(rows '<g1@x>') $(rows '<g2@x>')"
refused "record_message refuses a vanished inbox" "ERROR: +record_message: inbox $GONE vanished" \
    "SELECT postinbox.record_message(\$j\$$(doc mid='<g2@x>' out="$GONE")\$j\$::jsonb)"

# --- the ids that link, as thread_attach() takes them -------------------------
t_eq "link ids: references and a well-formed Message-ID, each once" "{<a@x>,<b@x>}" \
    "$(svc_psql "SELECT ARRAY(SELECT unnest(postinbox.record_link_ids('{<a@x>,<b@x>}', '<b@x>')) ORDER BY 1)")"
t_eq "link ids: 250 characters between < and > pass, 251 do not" "1|0" \
    "$(svc_psql "SELECT cardinality(postinbox.record_link_ids('{}', '<' || repeat('a', 250) || '>')),
                        cardinality(postinbox.record_link_ids('{}', '<' || repeat('a', 251) || '>'))")"
t_eq "link ids: no spaces, no empty id, no stray brackets" "{}" \
    "$(svc_psql "SELECT postinbox.record_link_ids('{}', x) FROM (VALUES ('<a b@x>'), ('<>'), ('<<a@x>'), (NULL)) v(x)
                  GROUP BY 1")"

# --- what it refuses as a whole (the caller then goes one by one) -------------
sent_before=$(total_sent "$BOB_ID")
refused "not an array: refused" "ERROR: +record_fast: docs must be a JSON array" \
    "SELECT postinbox.record_fast('{\"not\": \"an array\"}'::jsonb)"
refused "a malformed inbox id: the call is refused" 'ERROR: +invalid input syntax for type uuid: "not-a-uuid"' \
    "SELECT postinbox.record_fast(\$j\$[$(doc mid='<h1@x>' out="$BOB_ID"),$(doc mid='<h2@x>' out='not-a-uuid')]\$j\$::jsonb)"
t_eq "...and nothing of it is written" "0 $sent_before" "$(rows '<h1@x>') $(total_sent "$BOB_ID")"
t_eq "an empty call writes nothing" "{}" "$(fast)"

# --- two writers at once (two milters): related messages make one thread --
# write DOC: what lib/store/record_batch.c does with one document
write() {
    [ "$(fast "$1")" = "{}" ] || one "$1"
}
for first_fn in record_fast record_message; do
    for order in parent-first child-first; do
        root="<race-$first_fn-$order@x>"
        child="<race-$first_fn-$order-re@x>"
        if [ "$order" = parent-first ]; then
            first=$(doc mid="$root" out="$SUE_ID"); second=$(doc mid="$child" in="$SUE_ID" irt="$root")
        else
            first=$(doc mid="$child" in="$SUE_ID" irt="$root"); second=$(doc mid="$root" out="$SUE_ID")
        fi
        arg=$first
        [ "$first_fn" = record_fast ] && arg="[$first]"
        waited=$(pi_ms_behind "SELECT postinbox.$first_fn(\$j\$$arg\$j\$::jsonb)" write "$second")
        t_eq "$first_fn, then record_fast, related, at once ($order): one thread" \
            "$(thread_of "$SUE_ID" "$root")" "$(thread_of "$SUE_ID" "$child")"
        (( waited >= 1000 )) && t_ok "...($first_fn, $order) the second waited for the first" ||
            t_fail "...($first_fn, $order) the second waited for the first" "${waited} ms"
    done
done
# (inbound: two outbound messages of one inbox queue, briefly, on its total_sent)
waited=$(pi_ms_behind "SELECT postinbox.record_fast(\$j\$[$(doc mid='<calm-1@x>' in="$SUE_ID")]\$j\$::jsonb)" \
             write "$(doc mid='<calm-2@x>' in="$SUE_ID")")
(( waited < 1000 )) && t_ok "an unrelated message does not wait" || t_fail "an unrelated message does not wait" "${waited} ms"

t_summary
