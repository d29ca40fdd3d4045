-- record.sql -- what end of message writes: the message row of every
-- inbox involved, its thread, its events and the sender's total_sent, for
-- one document (record_message()) or for a batch (record_fast(), the
-- milter's group commit, lib/store/record_batch.c).
--
-- The document (milter/session.c builds it):
--   {queueId, envelopeFrom, messageId, inReplyTo, references, from, to,
--    cc, subject, size, sender: inbox uuid or null,
--    senderRecipients: [address...] (the accepted recipients charged to
--    the sender), recipients: [{inbox: uuid, addresses: [..]}],
--    participants: [address...] (From, To and Cc; threads.sql),
--    parsed: mime_parsed_json() of lib/mail/mime_parse.h (text, html, reply,
--    attachments metadata, size-capped, valid UTF-8), contentTruncated,
--    report: a bounce or complaint (reports.sql), autoReply: the header
--    that makes inbound mail that is no report an RFC 3834 auto-reply
--    (out-of-office; lib/mail/autoreply.h), policy: the suspension
--    policy (suppression.sql)}
-- message.received and message.parsed carry "autoReply" (true or false
-- on inbound mail) and, when true, "autoReplyHeader", so an agent can
-- choose not to answer an out-of-office; an auto-reply is never read as
-- a bounce.
-- Parsed content is stored on each inbound row (and the first 200
-- characters of the reply as its preview) and announced by a
-- message.parsed event after the row's own event.
--
-- One builder each for what both writers write, so a column or a webhook
-- payload is defined once: record_row() (the message row),
-- record_event_type() and record_event_payload() (message.sent /
-- message.received), record_parsed_payload() (message.parsed), and
-- thread_new_row() in threads.sql (a new thread).  They are single
-- SELECTs in SQL functions, which PostgreSQL inlines into the calling
-- statement: the batch statement costs what it did with the expressions
-- written out.
--
-- record_message(doc) runs about twenty statements per message, each with
-- its own executor start-up, and when many SMTP sessions of one inbox end
-- at once their transactions queue on the inbox row (total_sent) and its
-- foreign-key share locks.  record_fast(docs) takes the documents of
-- every message that reached end of message while the previous call ran
-- and writes, in one transaction, those whose rows link to nothing: no
-- earlier message of the inbox shares a Message-ID or a reference with
-- them, no earlier document of the call does, and they carry no delivery
-- or feedback report.  That is most new mail, and each gets what
-- record_message() would have written: a new thread, its message rows,
-- the message.sent / message.received (and message.parsed) events, one
-- total_sent update per inbox.
--
-- It returns the positions of the other documents (replies that join a
-- thread, reports, an inbox that vanished); the caller then writes each
-- of those with record_message(doc), in order, one transaction each, and
-- they see the rows just committed.  So every document is written exactly
-- as it would have been on its own, and a document PostgreSQL refuses
-- fails only its own message.
--
-- The thread advisory locks (thread_attach(), threads.sql) of every id of
-- the call are taken first, in key order, in a statement of their own (the
-- next statement's snapshot then sees what the lock holders committed):
-- two milters writing messages that share an id queue instead of making
-- two threads.
--
-- Plans that cannot go stale.  plpgsql caches a statement's plan for the
-- session; one made while a table was small (a fresh install, statistics
-- not yet gathered) read the whole message table in every call once it
-- had grown, 3-10 times the cost of the call, until autovacuum happened to
-- analyze it.  Every table access of a record is by key, so the functions
-- that write records plan without sequential scans, keep one generic plan
-- per statement, and do without JIT: the estimated cost of record_fast()'s
-- big statement passed jit_above_cost, and compiling it took two seconds
-- per call on a 2-core machine.
--
-- Deadlines: nothing is recorded for a message Postfix was refused.  The
-- milter waits for a record up to backend_timeout_ms and then tempfails
-- the message and gives its sends back; a record that committed after
-- that would leave a row, webhooks and a charge for mail that was never
-- sent.  So each call carries the moment (deadline_ms, epoch ms of the
-- client's wall clock, a margin before the client gives up: the time for
-- the commit and the answer to travel) after which it must not commit:
-- record_deadline_start() refuses a call that starts after it -- a
-- server frozen or stalled while the call waited in its socket -- and
-- bounds every lock wait of the transaction by the time left
-- (lock_timeout); record_deadline_check(), after all the work and lock
-- waits, refuses it when the time is gone.  Refused means an error with
-- SQLSTATE PIL01, so the whole call rolls back.  A batch is one call of
-- the client, which gives up on all its documents at once when the
-- earliest one's time is up, so the call's deadline is that one's.
-- Besides, the store's sessions run with statement_timeout and
-- client_connection_check_interval (lib/store/store.c), so a statement
-- stops once its client has gone.
--
-- This assumes that the hosts' clocks agree within a small fraction of
-- backend_timeout_ms (NTP keeps them within milliseconds).  A server
-- clock behind the client's by s widens the window in which a late
-- record can commit by s; one ahead refuses records s early.  What is
-- left even with agreeing clocks is a commit itself (the WAL flush)
-- stalling for longer than the margin after the last check.
--
-- A definition file (sql/functions/): one definition per function,
-- re-applied by `postinboxctl migrate` when the file changes
-- (docs/ARCHITECTURE.md, "The SQL layout").
--
-- Functions: record_deadline_left(), record_deadline_start(),
-- record_deadline_check(), record_row(), record_auto_reply(),
-- record_event_type(), record_event_payload(), record_parsed_payload(),
-- record_message(), record_fast().

SET LOCAL search_path = postinbox, pg_catalog, public;

-- Milliseconds left before p_deadline (epoch ms), by the clock now (not
-- the transaction's start: lock waits count).
CREATE OR REPLACE FUNCTION record_deadline_left(p_deadline bigint)
RETURNS bigint LANGUAGE sql VOLATILE AS $$
    SELECT p_deadline - floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint
$$;

-- At the start of a record call: refuses it (PIL01) when its deadline has
-- passed already, else bounds each lock wait of the transaction by the
-- time left.  A NULL deadline (a call by hand, a test) bounds nothing;
-- the store always passes one.
CREATE OR REPLACE FUNCTION record_deadline_start(p_deadline bigint)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    left_ms bigint := postinbox.record_deadline_left(p_deadline);
BEGIN
    IF left_ms IS NULL THEN
        RETURN;   -- no deadline: a call by hand
    END IF;
    IF left_ms <= 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'PIL01',
            MESSAGE = format('record: deadline passed %s ms before the call started', -left_ms);
    END IF;
    -- (at most lock_timeout's own maximum: a client clock weeks ahead must not fail the call)
    PERFORM set_config('lock_timeout', least(left_ms, 2147483647)::text, true);
END $$;

-- After all the work of a record call: refuses it (PIL01, so all of it
-- rolls back) when its deadline has passed meanwhile.
CREATE OR REPLACE FUNCTION record_deadline_check(p_deadline bigint)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    left_ms bigint := postinbox.record_deadline_left(p_deadline);
BEGIN
    IF left_ms <= 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'PIL01',
            MESSAGE = format('record: deadline passed %s ms before the work was done', -left_ms);
    END IF;
END $$;

-- The message row of inbox p_inbox (direction p_dir, envelope recipients
-- p_addresses, reference ids p_refs as message_reference_ids() makes
-- them) for document doc, for INSERT INTO message SELECT * FROM
-- record_row(...).  Columns in the table's order (migrations 001, 004,
-- 006, 017).  The parsed content, the preview and a report are kept on
-- inbound rows only; the tracking id and the rewritten links (the
-- milter's "trackingId", hex, and "links") on the outbound row only.
CREATE OR REPLACE FUNCTION record_row(doc jsonb, p_id uuid, p_inbox uuid, p_thread uuid, p_dir text,
                                      p_addresses text[], p_refs text[])
RETURNS SETOF message LANGUAGE sql STABLE AS $$
    SELECT p_id AS id, p_inbox AS inbox_id, p_thread AS thread_id, p_dir AS direction,
           doc->>'queueId' AS queue_id, doc->>'messageId' AS message_id_header,
           doc->>'inReplyTo' AS in_reply_to, doc->>'references' AS references_header,
           doc->>'envelopeFrom' AS envelope_from, p_addresses AS envelope_to,
           doc->>'from' AS from_header, doc->>'to' AS to_header, doc->>'cc' AS cc_header,
           doc->>'subject' AS subject, (doc->>'size')::integer AS size,
           -- the first 200 characters of the reply (else the text), on one line
           CASE p_dir WHEN 'inbound' THEN
               left(btrim(regexp_replace(coalesce(x.parsed->>'reply', x.parsed->>'text'), '\s+', ' ', 'g')), 200)
           END AS preview,
           CASE p_dir WHEN 'outbound' THEN 'sent' ELSE 'received' END AS status,
           now() AS created_at, now() AS updated_at,
           p_refs AS reference_ids,
           CASE p_dir WHEN 'inbound' THEN
               CASE jsonb_typeof(doc->'report') WHEN 'object' THEN doc->'report' END
           END AS report,
           p_dir = 'inbound' AND coalesce((doc->>'contentTruncated')::boolean, false) AS content_truncated,
           CASE p_dir WHEN 'inbound' THEN x.parsed->>'text' END AS text_body,
           CASE p_dir WHEN 'inbound' THEN x.parsed->>'html' END AS html_body,
           CASE p_dir WHEN 'inbound' THEN x.parsed->>'reply' END AS reply_text,
           CASE p_dir WHEN 'inbound' THEN x.parsed->'attachments' END AS attachments,
           CASE p_dir WHEN 'inbound' THEN (x.parsed->>'defects')::integer END AS parse_defects,
           CASE p_dir WHEN 'outbound' THEN decode(doc->>'trackingId', 'hex') END AS tracking_id,
           CASE WHEN p_dir = 'outbound' AND jsonb_typeof(doc->'links') = 'array' THEN
               ARRAY(SELECT jsonb_array_elements_text(doc->'links'))
           END AS links
      FROM (SELECT CASE jsonb_typeof(doc->'parsed') WHEN 'object' THEN doc->'parsed' END AS parsed) AS x
$$;

-- {"autoReply": bool, "autoReplyHeader": ...} of an inbound document,
-- for message.received and message.parsed.
CREATE OR REPLACE FUNCTION record_auto_reply(doc jsonb)
RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(doc->'autoReply') = 'string'
                THEN jsonb_build_object('autoReply', true, 'autoReplyHeader', doc->>'autoReply')
                ELSE jsonb_build_object('autoReply', false) END
$$;

-- The type of a message row's own event.
CREATE OR REPLACE FUNCTION record_event_type(p_dir text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE p_dir WHEN 'outbound' THEN 'message.sent' ELSE 'message.received' END
$$;

-- The payload of message.sent / message.received for the row p_message
-- (thread p_thread) of inbox p_inbox (address p_address).  An inbound row
-- that carries a report gets this event only when the report told nothing
-- new (its own event replaces it otherwise, reports.sql): then the payload
-- says so in "report" (duplicate: true).
CREATE OR REPLACE FUNCTION record_event_payload(doc jsonb, p_inbox uuid, p_address text, p_message uuid,
                                                p_thread uuid, p_dir text, p_recipients text[])
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
               'inboxId', p_inbox, 'address', p_address, 'messageId', p_message,
               'threadId', p_thread, 'queueId', doc->>'queueId',
               'direction', p_dir, 'messageIdHeader', doc->>'messageId',
               'inReplyTo', doc->>'inReplyTo', 'references', doc->>'references',
               'from', doc->>'from', 'to', doc->>'to', 'cc', doc->>'cc',
               'subject', doc->>'subject', 'size', (doc->>'size')::integer,
               'envelopeFrom', doc->>'envelopeFrom', 'recipients', to_jsonb(p_recipients))
           || CASE WHEN p_dir = 'inbound' THEN postinbox.record_auto_reply(doc) ELSE '{}' END
           || CASE WHEN p_dir = 'inbound' AND jsonb_typeof(doc->'report') = 'object'
                   THEN jsonb_build_object('report', jsonb_build_object(
                            'kind', doc->'report'->>'kind', 'style', doc->'report'->>'style', 'duplicate', true))
                   ELSE '{}' END
$$;

-- The payload of message.parsed for the inbound row p_message: the parsed
-- content itself (doc.parsed) after who and what it is about.  NULL when
-- the document has no parsed content (then there is no such event).
CREATE OR REPLACE FUNCTION record_parsed_payload(doc jsonb, p_inbox uuid, p_address text, p_message uuid,
                                                 p_thread uuid)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT CASE jsonb_typeof(doc->'parsed') WHEN 'object' THEN
               jsonb_build_object(
                   'inboxId', p_inbox, 'address', p_address, 'messageId', p_message, 'threadId', p_thread,
                   'messageIdHeader', doc->>'messageId', 'subject', doc->>'subject', 'from', doc->>'from',
                   'contentTruncated', coalesce((doc->>'contentTruncated')::boolean, false))
               || postinbox.record_auto_reply(doc)
               || (doc->'parsed')
           END
$$;

-- record_message(doc): writes everything the milter knows at end of
-- message in the caller's single statement, so it is all or nothing: per
-- inbox involved (the sender's outbound row, an inbound row per recipient
-- inbox) the thread (thread_attach()), the row, a report's effect
-- (doc.report on an inbound row, reports.sql), the row's events, and the
-- sender's total_sent.  The inboxes are visited in id order, so that two
-- transactions lock thread rows of several inboxes in the same order
-- ("Locking" in threads.sql); "messages" is in that order.
-- Committed by deadline_ms or not at all (record_deadline_start()).
-- Returns {"messages": [uuid...]}.
CREATE OR REPLACE FUNCTION record_message(doc jsonb, deadline_ms bigint DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SET enable_seqscan = off SET plan_cache_mode = force_generic_plan SET jit = off AS $$
DECLARE
    ids      jsonb := '[]';
    r        jsonb;
    ib       postinbox.inbox;
    mid      uuid;
    tid      uuid;
    rcpts    text[];
    dir      text;
    targets  jsonb := '[]';
    refs     text[] := postinbox.message_reference_ids(doc->>'inReplyTo', doc->>'references');
    people   text[] := ARRAY(SELECT jsonb_array_elements_text(
                                 CASE jsonb_typeof(doc->'participants') WHEN 'array' THEN doc->'participants'
                                                                        ELSE '[]' END));
    report   jsonb := CASE jsonb_typeof(doc->'report') WHEN 'object' THEN doc->'report' END;
    evtype   text;
BEGIN
    PERFORM postinbox.record_deadline_start(deadline_ms);
    IF doc->>'sender' IS NOT NULL THEN
        targets := targets || jsonb_build_array(jsonb_build_object(
            'inbox', doc->'sender', 'addresses', doc->'senderRecipients', 'direction', 'outbound'));
    END IF;
    FOR r IN SELECT * FROM jsonb_array_elements(coalesce(doc->'recipients', '[]')) LOOP
        targets := targets || jsonb_build_array(r || '{"direction": "inbound"}'::jsonb);
    END LOOP;

    FOR r IN SELECT t.value FROM jsonb_array_elements(targets) WITH ORDINALITY AS t(value, n)
              ORDER BY t.value->>'inbox', t.n LOOP
        SELECT * INTO ib FROM postinbox.inbox WHERE id = (r->>'inbox')::uuid;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'record_message: inbox % vanished', r->>'inbox';
        END IF;
        dir := r->>'direction';
        rcpts := ARRAY(SELECT jsonb_array_elements_text(coalesce(r->'addresses', '[]')));
        tid := postinbox.thread_attach(ib.id, doc->>'messageId', refs, doc->>'subject', people);
        mid := gen_random_uuid();
        INSERT INTO postinbox.message
        SELECT * FROM postinbox.record_row(doc, mid, ib.id, tid, dir, rcpts, refs);

        evtype := NULL;
        IF dir = 'inbound' AND report IS NOT NULL THEN
            evtype := CASE report->>'kind'
                WHEN 'arf' THEN postinbox.report_apply_arf(ib, mid, report, doc->'policy')
                ELSE postinbox.report_apply_dsn(ib, mid, report, doc->'policy') END;
        END IF;
        IF evtype IS NULL THEN
            INSERT INTO postinbox.event (inbox_id, message_id, type, payload)
            VALUES (ib.id, mid, postinbox.record_event_type(dir),
                    postinbox.record_event_payload(doc, ib.id, ib.address, mid, tid, dir, rcpts));
        END IF;
        IF dir = 'inbound' AND jsonb_typeof(doc->'parsed') = 'object' THEN
            INSERT INTO postinbox.event (inbox_id, message_id, type, payload)
            VALUES (ib.id, mid, 'message.parsed', postinbox.record_parsed_payload(doc, ib.id, ib.address, mid, tid));
        END IF;

        IF dir = 'outbound' THEN
            UPDATE postinbox.inbox SET total_sent = total_sent + cardinality(rcpts),
                   updated_at = now()
             WHERE id = ib.id;
        END IF;
        ids := ids || to_jsonb(mid);
    END LOOP;
    PERFORM postinbox.record_deadline_check(deadline_ms);
    RETURN jsonb_build_object('messages', ids);
END $$;

-- record_fast(docs): docs is a JSON array of record_message() documents.
-- Writes those that link to nothing; returns the (1-based) positions of
-- the others, for record_message().  Committed by deadline_ms or not at
-- all (record_deadline_start()).
CREATE OR REPLACE FUNCTION record_fast(docs jsonb, deadline_ms bigint DEFAULT NULL) RETURNS integer[]
LANGUAGE plpgsql SET enable_seqscan = off SET plan_cache_mode = force_generic_plan SET jit = off AS $$
DECLARE
    others integer[];
BEGIN
    IF jsonb_typeof(docs) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'record_fast: docs must be a JSON array';
    END IF;
    PERFORM postinbox.record_deadline_start(deadline_ms);

    PERFORM pg_advisory_xact_lock(hashtext('postinbox.thread'), s.key)
       FROM (SELECT DISTINCT hashtext(y) AS key
               FROM jsonb_array_elements(docs) AS e(doc),
                    unnest(postinbox.record_link_ids(
                        postinbox.message_reference_ids(e.doc->>'inReplyTo', e.doc->>'references'),
                        e.doc->>'messageId')) AS y
              ORDER BY 1) AS s;

    WITH d AS MATERIALIZED (
        SELECT e.n::integer AS n, e.doc, r.refs, postinbox.record_link_ids(r.refs, e.doc->>'messageId') AS ids
          FROM jsonb_array_elements(docs) WITH ORDINALITY AS e(doc, n),
               LATERAL (SELECT postinbox.message_reference_ids(e.doc->>'inReplyTo',
                                                               e.doc->>'references') AS refs) AS r),
    -- one row per (document, inbox), in the order record_message() visits them
    t AS MATERIALIZED (
        SELECT row_number() OVER (ORDER BY d.n, x.inbox, x.k) AS i, d.n, x.inbox, x.dir,
               ARRAY(SELECT jsonb_array_elements_text(coalesce(x.addresses, '[]'))) AS addresses,
               d.refs, d.ids, d.doc
          FROM d, LATERAL (
                  SELECT (d.doc->>'sender')::uuid AS inbox, 'outbound' AS dir, d.doc->'senderRecipients' AS addresses,
                         0::bigint AS k
                   WHERE d.doc->>'sender' IS NOT NULL
                  UNION ALL
                  SELECT (r.value->>'inbox')::uuid, 'inbound', r.value->'addresses', r.k
                    FROM jsonb_array_elements(coalesce(d.doc->'recipients', '[]')) WITH ORDINALITY AS r(value, k)
               ) AS x),
    -- documents for record_message(); OFFSET 0 keeps the inbox out of the
    -- index choice (see message_msgid_idx in sql/migrations/004_threads.sql)
    other AS MATERIALIZED (
        SELECT DISTINCT t.n FROM t
         WHERE (t.dir = 'inbound' AND jsonb_typeof(t.doc->'report') = 'object')
            OR NOT EXISTS (SELECT 1 FROM postinbox.inbox ib WHERE ib.id = t.inbox)
            OR EXISTS (SELECT 1 FROM (SELECT m.inbox_id FROM postinbox.message m
                                       WHERE m.message_id_header = ANY (t.ids) OFFSET 0) AS c
                        WHERE c.inbox_id = t.inbox)
            OR EXISTS (SELECT 1 FROM postinbox.message_reference r
                        WHERE r.inbox_id = t.inbox AND r.ref_id = ANY (t.ids))
            OR EXISTS (SELECT 1 FROM t AS o WHERE o.inbox = t.inbox AND o.i < t.i AND o.ids && t.ids)),
    f AS MATERIALIZED (
        SELECT t.i, ib.id AS inbox, t.dir, t.addresses, t.refs, t.doc, ib.address,
               gen_random_uuid() AS tid, gen_random_uuid() AS mid,
               CASE jsonb_typeof(t.doc->'parsed') WHEN 'object' THEN t.doc->'parsed' END AS parsed,
               ARRAY(SELECT jsonb_array_elements_text(
                         CASE jsonb_typeof(t.doc->'participants') WHEN 'array' THEN t.doc->'participants'
                                                                  ELSE '[]' END)) AS people
          FROM t JOIN postinbox.inbox ib ON ib.id = t.inbox
         WHERE t.n NOT IN (SELECT other.n FROM other)),
    -- the inbox rows whose total_sent grows, locked in id order before
    -- any of them is updated
    locked AS MATERIALIZED (
        SELECT ib.id FROM postinbox.inbox ib
         WHERE ib.id IN (SELECT f.inbox FROM f WHERE f.dir = 'outbound')
         ORDER BY ib.id FOR NO KEY UPDATE),
    new_threads AS (
        INSERT INTO postinbox.thread
        SELECT nt.* FROM f, LATERAL postinbox.thread_new_row(f.tid, f.inbox, f.doc->>'subject', f.people) AS nt),
    new_messages AS (
        INSERT INTO postinbox.message
        SELECT nm.* FROM f,
               LATERAL postinbox.record_row(f.doc, f.mid, f.inbox, f.tid, f.dir, f.addresses, f.refs) AS nm),
    new_events AS (
        INSERT INTO postinbox.event (inbox_id, message_id, type, payload)
        SELECT f.inbox, f.mid, postinbox.record_event_type(f.dir),
               postinbox.record_event_payload(f.doc, f.inbox, f.address, f.mid, f.tid, f.dir, f.addresses)
          FROM f
        UNION ALL
        SELECT f.inbox, f.mid, 'message.parsed',
               postinbox.record_parsed_payload(f.doc, f.inbox, f.address, f.mid, f.tid)
          FROM f WHERE f.dir = 'inbound' AND f.parsed IS NOT NULL),
    sent AS (
        UPDATE postinbox.inbox ib
           SET total_sent = ib.total_sent + s.n, updated_at = now()
          FROM (SELECT f.inbox, sum(cardinality(f.addresses)) AS n
                  FROM f JOIN locked ON locked.id = f.inbox
                 WHERE f.dir = 'outbound' GROUP BY f.inbox) AS s
         WHERE ib.id = s.inbox)
    SELECT coalesce(array_agg(other.n ORDER BY other.n), '{}') INTO others FROM other;

    PERFORM postinbox.record_deadline_check(deadline_ms);
    RETURN others;
END $$;
