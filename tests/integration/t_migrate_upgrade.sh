#!/usr/bin/env bash
# t_migrate_upgrade.sh -- the upgrade path of the SQL layout
# (docs/ARCHITECTURE.md, "The SQL layout"): a database migrated by the old
# layout (tests/fixtures/sql-v1, the sql/ of the release before the
# definitions left the migrations, applied as its postinboxctl migrate
# did) migrates cleanly to the new one, and ends up with exactly the
# schema of a fresh install (pg_dump --schema-only, compared as is).
# Also: the record path writes the same rows and webhook payloads before
# and after the definitions moved; a second migrate is a no-op; a
# definition file whose recorded hash differs is applied again, alone;
# the 004 backfill (inlined) gives what the old one (through functions)
# gave.  Needs PostgreSQL only (and redis-server for the config's key).
set -u
here=$(dirname "$0")
. "$here/common.sh"

if [ "$(id -u)" != 0 ] || ! command -v redis-server >/dev/null; then
    echo "SKIP: needs root and redis-server (scripts/install-deps.sh)"
    exit 77
fi
if [ ! -x "$PI_CTL" ]; then
    echo "SKIP: build first (missing $PI_CTL)"
    exit 77
fi
svc_init || exit 1
svc_start_pg || exit 1
svc_start_redis || exit 1
pi_write_conf
# This test loads old schemas as the superuser and compares dumps: one
# role for everything (the two-role install is t_ctl.sh's and everyone
# else's).
sed -i -e '/^migration_database = /d' -e 's/^database = .*/database = host=127.0.0.1 port='"$PG_PORT"' dbname=postinbox user=postgres/' \
    "$PI_CONF"

V1=$PI_SRCDIR/tests/fixtures/sql-v1
PG_BIN=$(_svc_pg_bindir)
export PGOPTIONS="-c client_min_messages=warning"

# db_psql DB SQL: one statement list on database DB; prints the result.
db_psql() {
    "$PG_BIN/psql" -At -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$1" -c "$2"
}
# db_ctl DB ARGS...: postinboxctl on database DB.
db_ctl() {
    local db=$1
    shift
    sed "s/dbname=postinbox/dbname=$db/" "$PI_CONF" > "$SVC_DIR/$db.conf"
    "$PI_CTL" -c "$SVC_DIR/$db.conf" "$@"
}
# db_dump DB: the schema as pg_dump prints it.  A pg_dump that writes
# psql's \restrict lines (15.14 and later) makes up a random key for each
# dump unless given one.
DUMP_KEY=()
if "$PG_BIN/pg_dump" --help | grep -q -- --restrict-key; then
    DUMP_KEY=(--restrict-key=postinbox)
fi
db_dump() {
    "$PG_BIN/pg_dump" --schema-only "${DUMP_KEY[@]}" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$1"
}
# v1_apply DB FILE...: the old migrate, file by file: the bootstrap, then
# per file one transaction holding the file and its schema_migration row.
v1_apply() {
    local db=$1 f name v
    shift
    db_psql "$db" "CREATE SCHEMA IF NOT EXISTS postinbox;
        CREATE TABLE IF NOT EXISTS postinbox.schema_migration (
            version integer PRIMARY KEY, name text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now())" || return 1
    for f in "$@"; do
        name=$(basename "$f" .sql)
        v=$(echo "${name%%_*}" | sed 's/^0*//')
        { echo "BEGIN;"; cat "$f"; echo ";"
          echo "INSERT INTO postinbox.schema_migration (version, name) VALUES ($v, '$name');"
          echo "COMMIT;"; } > "$SVC_DIR/v1.sql"
        "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$db" \
            -f "$SVC_DIR/v1.sql" > /dev/null || return 1
    done
}

A=00000000-0000-4000-8000-00000000000a
IA=00000000-0000-4000-8000-0000000000a1
IB=00000000-0000-4000-8000-0000000000b1
# seed DB: one account, the sandbox domain, two inboxes, a login grant.
seed() {
    db_psql "$1" "
        INSERT INTO postinbox.account (id, short_id, name) VALUES ('$A', 'acme', 'Acme');
        INSERT INTO postinbox.domain (id, name, kind, verified)
            VALUES ('00000000-0000-4000-8000-0000000000d1', '$SANDBOX', 'sandbox', true);
        INSERT INTO postinbox.inbox (id, account_id, domain_id, username, address)
            VALUES ('$IA', '$A', '00000000-0000-4000-8000-0000000000d1', 'a', 'a--acme@$SANDBOX'),
                   ('$IB', '$A', '00000000-0000-4000-8000-0000000000d1', 'b', 'b--acme@$SANDBOX');
        UPDATE postinbox.inbox SET burst_limit = 7 WHERE id = '$IB';
        INSERT INTO postinbox.login_grant (login, inbox_id) VALUES ('alice', '$IA');"
}

# The documents of the milter (milter/session.c): mail to the world, mail
# from A to B with parsed content, a reply, a bounce report arriving at A.
DOC_WORLD='{"queueId": "Q1", "envelopeFrom": "a--acme@'$SANDBOX'", "messageId": "<m1@x>",
  "from": "A <a--acme@'$SANDBOX'>", "to": "w@example.org", "subject": "Hello", "size": 120,
  "sender": "'$IA'", "senderRecipients": ["w@example.org", "v@example.org"], "recipients": [],
  "participants": ["a--acme@'$SANDBOX'", "w@example.org"]}'
DOC_AB='{"queueId": "Q2", "envelopeFrom": "a--acme@'$SANDBOX'", "messageId": "<m2@x>",
  "from": "a--acme@'$SANDBOX'", "to": "b--acme@'$SANDBOX'", "cc": "c@example.org", "subject": "Re: Fwd: Plan",
  "size": 300, "sender": "'$IA'", "senderRecipients": ["b--acme@'$SANDBOX'"],
  "recipients": [{"inbox": "'$IB'", "addresses": ["b--acme@'$SANDBOX'"]}],
  "participants": ["a--acme@'$SANDBOX'", "b--acme@'$SANDBOX'", "c@example.org"],
  "contentTruncated": true,
  "parsed": {"text": "Yes.\n\n  On Monday   you wrote:\n> x", "html": "<p>Yes.</p>", "reply": "Yes.",
             "attachments": [{"filename": "a.txt", "size": 3}], "defects": 1, "textTruncated": false}}'
DOC_REPLY='{"queueId": "Q3", "envelopeFrom": "a--acme@'$SANDBOX'", "messageId": "<m3@x>",
  "inReplyTo": "<m1@x>", "references": "<m0@x> <m1@x>", "from": "a--acme@'$SANDBOX'",
  "to": "w@example.org", "subject": "Re: Hello", "size": 90, "sender": "'$IA'",
  "senderRecipients": ["w@example.org"], "recipients": [], "participants": ["w@example.org"]}'
DOC_DSN='{"queueId": "Q4", "envelopeFrom": "", "messageId": "<dsn1@x>", "from": "MAILER-DAEMON@example.org",
  "to": "a--acme@'$SANDBOX'", "subject": "Undelivered Mail Returned to Sender", "size": 2000,
  "sender": null, "recipients": [{"inbox": "'$IA'", "addresses": ["a--acme@'$SANDBOX'"]}],
  "policy": {"bounceRate": 0.5, "complaintRate": 0.5, "windowSeconds": 86400, "minSends": 100},
  "report": {"kind": "dsn", "style": "rfc3464", "originalMessageId": "m1@x",
             "recipients": [{"address": "v@example.org", "action": "failed", "status": "5.1.1",
                             "diagnostic": "550 5.1.1 no such user", "type": "hard",
                             "reason": "user_unknown", "bounceType": "permanent", "smtpCode": "550",
                             "senderProblem": false}]}}'
POLICY='{"bounceRate": 0.5, "complaintRate": 0.5, "windowSeconds": 86400, "minSends": 100}'

# run_records DB [v1]: the same calls through the record path, the delivery
# path and the lookups; "v1": record_delivery as v1 defined it (no
# classification arguments, issue 12).
run_records() {
    local class=", 'user_unknown', 'permanent', 550, false" none=", NULL, NULL, NULL, NULL"
    [ "${2-}" = v1 ] && class= none=
    db_psql "$1" "SELECT postinbox.record_fast('[$DOC_WORLD, $DOC_AB, $DOC_REPLY]'::jsonb)" &&
    db_psql "$1" "SELECT postinbox.record_message('$DOC_REPLY'::jsonb) IS NOT NULL" &&
    db_psql "$1" "SELECT postinbox.record_delivery('Q1', 'w@example.org', NULL, 'bounced', '5.1.1',
                      'user unknown', 'mx.example.org', 1.5, false, '$POLICY'::jsonb $class)" &&
    db_psql "$1" "SELECT postinbox.record_delivery('Q1', 'v@example.org', NULL, 'sent', '2.0.0',
                      '250 ok', 'mx.example.org', 1.5, false, '$POLICY'::jsonb $none)" &&
    db_psql "$1" "SELECT postinbox.record_message('$DOC_DSN'::jsonb) IS NOT NULL" &&
    db_psql "$1" "SELECT postinbox.record_message('$DOC_DSN'::jsonb) IS NOT NULL"
}
# state DB [v1]: what the calls left, without generated ids and times;
# "v1": without what v1 did not write (the recipients' reason,
# bounceType, smtpCode and senderProblem in payloads, autoReply on
# received mail, issue 12); lookup's columns as both have them (016 added
# domain_failing, 017 tracking) and the message columns v1 has (017 added
# tracking_id and links).
state() {
    db_psql "$1" "
        SELECT 'lookup', l.managed, l.inbox_id, l.inbox_address, l.status, l.daily_limit, l.burst_limit, l.granted, l.suppressions FROM postinbox.lookup('A--acme@$SANDBOX', 'alice') l
        UNION ALL SELECT 'lookup', l.managed, l.inbox_id, l.inbox_address, l.status, l.daily_limit, l.burst_limit, l.granted, l.suppressions FROM postinbox.lookup('b--acme@$SANDBOX') l
        UNION ALL SELECT 'lookup', l.managed, l.inbox_id, l.inbox_address, l.status, l.daily_limit, l.burst_limit, l.granted, l.suppressions FROM postinbox.lookup('x@nowhere.example') l;
        SELECT 'limits', i.address, (postinbox.inbox_limits(i)).* FROM postinbox.inbox i ORDER BY 2;
        SELECT 'inbox', address, status, total_sent, bounce_count, complaint_count
          FROM postinbox.inbox ORDER BY address;
        SELECT 'message', to_jsonb(m) - '{id,thread_id,created_at,updated_at,tracking_id,links}'::text[]
          FROM postinbox.message m ORDER BY m.queue_id, m.direction, m.inbox_id, m.created_at;
        SELECT 'thread', t.inbox_id, t.subject, t.raw_subject, t.message_count, t.participants
          FROM postinbox.thread t ORDER BY 2, 3, 4, 5;
        SELECT 'event', e.type, e.p - '{messageId,threadId,reportMessageId}'::text[]
          FROM (SELECT x.*, CASE WHEN '${2-}' = 'v1' AND jsonb_typeof(x.payload->'recipients') = 'array'
                    THEN jsonb_set(x.payload, '{recipients}', (
                        SELECT coalesce(jsonb_agg(CASE jsonb_typeof(r) WHEN 'object'
                                    THEN r - '{reason,bounceType,smtpCode,senderProblem}'::text[] ELSE r END
                                    ORDER BY i), '[]')
                          FROM jsonb_array_elements(x.payload->'recipients') WITH ORDINALITY AS a(r, i)))
                    ELSE x.payload END
                    - CASE WHEN '${2-}' = 'v1' THEN '{autoReply,autoReplyHeader}'::text[] ELSE '{}'::text[] END AS p
                  FROM postinbox.event x) e
          ORDER BY e.created_at, e.type, 3::text;
        SELECT 'recipient', r.address, r.state, r.dsn, r.diagnostic, r.deferrals
          FROM postinbox.message_recipient r ORDER BY 2;
        SELECT 'suppression', s.inbox_id, s.address, s.source, s.reason, s.dsn
          FROM postinbox.suppression s ORDER BY 2, 3;
        SELECT 'reference', r.inbox_id, r.ref_id FROM postinbox.message_reference r ORDER BY 2, 3;"
}

# --- a fresh install and a v1 database -------------------------------------
svc_psql "CREATE DATABASE fresh" >/dev/null
svc_psql "CREATE DATABASE v1" >/dev/null
out=$(db_ctl fresh migrate)
t_eq "fresh install: every migration, then every definition file" \
    "$(cd "$PI_SRCDIR/sql/migrations" && ls ./*.sql | sed 's|^\./||; s/\.sql$//; s/^/applied /')
$(cd "$PI_SRCDIR/sql/functions" && ls ./*.sql | sed 's|^\./||; s/\.sql$//; s|^|applied functions/|')" "$out"
if v1_apply v1 "$V1"/0*.sql; then t_ok "the v1 migrations apply as the old migrate did"; else t_fail "v1 apply"; fi
seed fresh && seed v1 || t_fail "seed"

# --- the record path before and after the move -------------------------------
if run_records v1 v1 > "$SVC_DIR/v1.out" && run_records fresh > "$SVC_DIR/fresh.out"; then
    t_ok "the record calls run on both"
else
    t_fail "the record calls" "$(tail -3 "$SVC_DIR"/*.out)"
fi
t_eq "record_fast returns the same positions" "$(cat "$SVC_DIR/v1.out")" "$(cat "$SVC_DIR/fresh.out")"
state v1 v1 > "$SVC_DIR/state-v1"
state fresh v1 > "$SVC_DIR/state-fresh"
t_eq "same rows, threads, payloads, lookups with the v1 functions and the new ones" "" \
    "$(diff "$SVC_DIR/state-v1" "$SVC_DIR/state-fresh")"
t_match "the comparison saw the events" "message.parsed" "$(cat "$SVC_DIR/state-fresh")"
t_match "the comparison saw the duplicate report" '"duplicate": true' "$(cat "$SVC_DIR/state-fresh")"
t_match "the comparison saw the limits (sandbox 250, burst 25 and 7)" \
    "limits\|a--acme@$SANDBOX\|250\|25"$'\n'"limits\|b--acme@$SANDBOX\|250\|7" "$(cat "$SVC_DIR/state-fresh")"

# --- (a) upgrade: the schema of a fresh install ------------------------------
out=$(db_ctl v1 migrate)
t_eq "upgrade applies the new migration, then every definition file" \
    "$(cd "$PI_SRCDIR/sql/migrations" && ls ./*.sql | sed 's|^\./||; s/\.sql$//; s/^/applied /' | sed -n '/^applied 009_/,$p')
$(cd "$PI_SRCDIR/sql/functions" && ls ./*.sql | sed 's|^\./||; s/\.sql$//; s|^|applied functions/|')
made an active DKIM key for 1 domain that had none (postinboxctl domain dkim show DOMAIN: the TXT record to publish)" "$out"
t_eq "upgrade: the sandbox domain of v1 got its DKIM key, sealed" "active|t" \
    "$(db_psql v1 "SELECT k.state, k.private_key LIKE 'v1:%' FROM postinbox.dkim_key k JOIN postinbox.domain d ON d.id = k.domain_id WHERE d.name = '$SANDBOX'")"
db_dump fresh > "$SVC_DIR/dump-fresh"
db_dump v1 > "$SVC_DIR/dump-v1"
t_eq "pg_dump --schema-only of the upgraded database equals a fresh install's" "" \
    "$(diff "$SVC_DIR/dump-v1" "$SVC_DIR/dump-fresh")"
t_match "the dump holds the functions" "CREATE FUNCTION postinbox.record_fast" "$(cat "$SVC_DIR/dump-fresh")"
t_eq "the data survived the upgrade" "$(cat "$SVC_DIR/state-v1")" "$(state v1 v1)"
run_records v1 > /dev/null && run_records fresh > /dev/null || t_fail "the record calls after the upgrade"
t_eq "after the upgrade both record alike (the old rows lack the new fields)" "$(state fresh v1)" "$(state v1 v1)"

# --- (b) a second migrate is a no-op ----------------------------------------
t_eq "migrate again: nothing to do" "schema up to date" "$(db_ctl v1 migrate)"
LAST=$(cd "$PI_SRCDIR/sql/migrations" && ls ./*.sql | tail -n 1 | sed 's|^\./||; s/_.*//; s/^0*//')
t_eq "migrate --json again" "{\"applied\": [], \"definitions\": [], \"version\": $LAST}" \
    "$(db_ctl v1 --json migrate | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))')"

# --- (c) a changed definition file is applied again, alone -------------------
want=$(cd "$PI_SRCDIR/sql/functions" && for f in ./*.sql; do
    n=${f#./}; echo "${n%.sql}|$(sha256sum "$f" | cut -d' ' -f1)"; done)
t_eq "the recorded hashes are the files' SHA-256" "$want" \
    "$(db_psql v1 "SELECT name, sha256 FROM postinbox.schema_definition ORDER BY name")"
# a hand-made change the next apply of threads.sql undoes
db_psql v1 "CREATE OR REPLACE FUNCTION postinbox.thread_subject(p_subject text) RETURNS text
            LANGUAGE sql IMMUTABLE PARALLEL SAFE AS \$\$ SELECT 'patched' \$\$;
            UPDATE postinbox.schema_definition SET sha256 = repeat('0', 64) WHERE name = 'threads'"
t_eq "migrate applies the file whose hash differs, only it" "applied functions/threads" "$(db_ctl v1 migrate)"
t_eq "its functions are the file's again" "Plan" "$(db_psql v1 "SELECT postinbox.thread_subject('Re: AW: Plan')")"
t_eq "and its hash is recorded" "$(echo "$want" | grep '^threads|')" \
    "$(db_psql v1 "SELECT name, sha256 FROM postinbox.schema_definition WHERE name = 'threads'")"
t_eq "schema equals a fresh install's again" "" "$(diff <(db_dump v1) "$SVC_DIR/dump-fresh")"
t_eq "then nothing to do" "schema up to date" "$(db_ctl v1 migrate)"

# --- (d) a database stopped at v1's 003: the inlined 004 backfill ------------
svc_psql "CREATE DATABASE half" >/dev/null
svc_psql "CREATE DATABASE whole" >/dev/null
for db in half whole; do
    v1_apply "$db" "$V1"/00[123]_*.sql || t_fail "v1 001-003 on $db"
    seed "$db"
    # messages stored before threads existed: references and participants
    # in the headers only, one thread each (as 001's thread_for left them)
    db_psql "$db" "
        INSERT INTO postinbox.thread (id, inbox_id, subject, message_count, created_at, last_message_at) VALUES
          ('00000000-0000-4000-8000-000000000101', '$IA', 'x', 1, '2024-01-01', '2024-01-01'),
          ('00000000-0000-4000-8000-000000000102', '$IA', 'x', 2, '2024-01-02', '2024-01-03');
        INSERT INTO postinbox.message (id, inbox_id, thread_id, direction, queue_id, message_id_header,
                in_reply_to, references_header, envelope_from, envelope_to, from_header, to_header, cc_header,
                subject, size, status, created_at) VALUES
          ('00000000-0000-4000-8000-000000000201', '$IA', '00000000-0000-4000-8000-000000000101', 'outbound',
           'H1', '<h1@x>', NULL, NULL, 'a@x', '{w@example.org}', 'A <a--acme@$SANDBOX>', 'W <W@Example.org>, v@example.org',
           NULL, 'Re: [2] SV: Start', 10, 'sent', '2024-01-01'),
          ('00000000-0000-4000-8000-000000000202', '$IA', '00000000-0000-4000-8000-000000000102', 'inbound',
           'H2', '<h2@x>', '<h1@x> junk <also@x>', '<root@x> <h1@x> not-an-id <' || repeat('y', 260) || '>',
           'w@example.org', '{a--acme@$SANDBOX}', 'w@example.org', 'a--acme@$SANDBOX', 'c@example.org',
           'Re: Start', 10, 'received', '2024-01-02'),
          ('00000000-0000-4000-8000-000000000203', '$IA', '00000000-0000-4000-8000-000000000102', 'inbound',
           'H3', '<h3@x>', NULL, (SELECT string_agg('<r' || g || '@x>', ' ') FROM generate_series(1, 60) g),
           'w@example.org', '{a--acme@$SANDBOX}', '\"Odd, Name\" <odd@example.org>', NULL, NULL,
           'Later', 10, 'received', '2024-01-03');"
done
v1_apply whole "$V1"/00[45678]_*.sql || t_fail "v1 004-008 on whole"
db_ctl whole migrate > /dev/null || t_fail "migrate whole"
out=$(db_ctl half migrate) || t_fail "migrate half" "$out"
backfill="SELECT m.id, m.reference_ids FROM postinbox.message m ORDER BY 1;
          SELECT * FROM postinbox.message_reference ORDER BY 1, 2, 3;
          SELECT id, subject, raw_subject, message_count, participants, first_message_at, last_message_at
            FROM postinbox.thread ORDER BY id"
t_eq "the 004 backfill written out gives what v1's gave through its functions" \
    "$(db_psql whole "$backfill")" "$(db_psql half "$backfill")"
t_match "the backfill saw references" "root@x" "$(db_psql half "$backfill")"
t_eq "a database upgraded from v1's 003 has a fresh install's schema" "" \
    "$(diff <(db_dump half) "$SVC_DIR/dump-fresh")"

t_summary
