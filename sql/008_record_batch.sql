-- 008_record_batch.sql -- the records of several messages in one
-- statement: the milter's group commit (lib/record_batch.c).
--
-- record_message(doc) (006) runs about twenty statements per message,
-- each with its own executor start-up, and when many SMTP sessions of one
-- inbox end at once their transactions queue on the inbox row
-- (total_sent) and its foreign-key share locks.  record_fast(docs) takes
-- the documents of every message that reached end of message while the
-- previous call ran and writes, in one transaction, those whose rows link
-- to nothing: no earlier message of the inbox shares a Message-ID or a
-- reference with them, no earlier document of the call does, and they
-- carry no delivery or feedback report.  That is most new mail, and each
-- gets what record_message() would have written: a new thread, its
-- message rows, the message.sent / message.received (and message.parsed)
-- events, one total_sent update per inbox.
--
-- It returns the positions of the other documents (replies that join a
-- thread, reports, an inbox that vanished); the caller then writes each
-- of those with record_message(doc), in order, one transaction each, and
-- they see the rows just committed.  So every document is written exactly
-- as it would have been on its own, and a document PostgreSQL refuses
-- fails only its own message.
--
-- The thread advisory locks (thread_attach(), 004) of every id of the
-- call are taken first, in key order, in a statement of their own (the
-- next statement's snapshot then sees what the lock holders committed):
-- two milters writing messages that share an id queue instead of making
-- two threads.

SET LOCAL search_path = postinbox, pg_catalog, public;

-- Plans that cannot go stale.  plpgsql caches a statement's plan for the
-- session; one made while a table was small (a fresh install, statistics
-- not yet gathered) read the whole message table in every call once it
-- had grown, 3-10 times the cost of the call, until autovacuum happened to
-- analyze it.  Every table access of a record is by key, so the functions
-- that write records plan without sequential scans, keep one generic plan
-- per statement, and do without JIT: the estimated cost of record_fast()'s
-- big statement passed jit_above_cost, and compiling it took two seconds
-- per call on a 2-core machine.
ALTER FUNCTION record_message(jsonb) SET enable_seqscan = off SET plan_cache_mode = force_generic_plan SET jit = off;

-- Every lookup by queue id is of an outbound message (the log follower, a
-- bounce's X-Postfix-Queue-ID) and uses message_outbound_queue_idx (003);
-- the index of 001 over every row only cost each insert.
DROP INDEX message_queue_idx;

-- Most messages reference nothing: the trigger that copies references
-- into message_reference (004) need not run for them at all.
DROP TRIGGER message_reference_fill ON message;
CREATE TRIGGER message_reference_fill AFTER INSERT ON message
    FOR EACH ROW WHEN (cardinality(NEW.reference_ids) > 0) EXECUTE FUNCTION message_reference_fill();

-- The ids that link a message to a thread, as thread_attach() takes them:
-- its references (message_reference_ids()) and, if well formed, its own
-- Message-ID.
CREATE FUNCTION record_link_ids(p_refs text[], p_message_id text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    -- plpgsql for the cached plan, as message_reference_ids() (004);
    -- the shape test of thread_attach(), '^<[^<>[:space:]]{1,250}>$', with
    -- the bound as a length (a bounded repetition makes a big automaton)
    RETURN ARRAY(SELECT DISTINCT y FROM unnest(p_refs[1:100] || p_message_id) AS y
                  WHERE length(y) <= 252 AND y ~ '^<[^<>[:space:]]+>$');
END $$;

-- record_fast(docs): docs is a JSON array of record_message() documents.
-- Writes those that link to nothing; returns the (1-based) positions of
-- the others, for record_message().
CREATE FUNCTION record_fast(docs jsonb) RETURNS integer[]
LANGUAGE plpgsql SET enable_seqscan = off SET plan_cache_mode = force_generic_plan SET jit = off AS $$
DECLARE
    others integer[];
BEGIN
    IF jsonb_typeof(docs) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'record_fast: docs must be a JSON array';
    END IF;

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
    -- index choice (see message_msgid_idx in 004)
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
               coalesce((t.doc->>'contentTruncated')::boolean, false) AS cut,
               (t.doc->>'size')::integer AS size,
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
        INSERT INTO postinbox.thread (id, inbox_id, subject, raw_subject, message_count, participants,
                                      first_message_at, last_message_at)
        SELECT f.tid, f.inbox, postinbox.thread_subject(f.doc->>'subject'), f.doc->>'subject', 1,
               postinbox.thread_participants('{}', f.people), now(), now()
          FROM f),
    new_messages AS (
        INSERT INTO postinbox.message (id, inbox_id, thread_id, direction, queue_id,
                message_id_header, in_reply_to, references_header, reference_ids, envelope_from,
                envelope_to, from_header, to_header, cc_header, subject, size, status,
                report, content_truncated, text_body, html_body, reply_text, attachments, parse_defects,
                preview)
        SELECT f.mid, f.inbox, f.tid, f.dir, f.doc->>'queueId', f.doc->>'messageId', f.doc->>'inReplyTo',
               f.doc->>'references', f.refs, f.doc->>'envelopeFrom', f.addresses, f.doc->>'from',
               f.doc->>'to', f.doc->>'cc', f.doc->>'subject', f.size,
               CASE f.dir WHEN 'outbound' THEN 'sent' ELSE 'received' END,
               NULL, f.dir = 'inbound' AND f.cut,
               CASE f.dir WHEN 'inbound' THEN f.parsed->>'text' END,
               CASE f.dir WHEN 'inbound' THEN f.parsed->>'html' END,
               CASE f.dir WHEN 'inbound' THEN f.parsed->>'reply' END,
               CASE f.dir WHEN 'inbound' THEN f.parsed->'attachments' END,
               CASE f.dir WHEN 'inbound' THEN (f.parsed->>'defects')::integer END,
               CASE f.dir WHEN 'inbound' THEN
                   left(btrim(regexp_replace(coalesce(f.parsed->>'reply', f.parsed->>'text'), '\s+', ' ', 'g')),
                        200) END
          FROM f),
    new_events AS (
        INSERT INTO postinbox.event (inbox_id, message_id, type, payload)
        SELECT f.inbox, f.mid, CASE f.dir WHEN 'outbound' THEN 'message.sent' ELSE 'message.received' END,
               jsonb_build_object(
                   'inboxId', f.inbox, 'address', f.address, 'messageId', f.mid,
                   'threadId', f.tid, 'queueId', f.doc->>'queueId',
                   'direction', f.dir, 'messageIdHeader', f.doc->>'messageId',
                   'inReplyTo', f.doc->>'inReplyTo', 'references', f.doc->>'references',
                   'from', f.doc->>'from', 'to', f.doc->>'to', 'cc', f.doc->>'cc',
                   'subject', f.doc->>'subject', 'size', f.size,
                   'envelopeFrom', f.doc->>'envelopeFrom', 'recipients', to_jsonb(f.addresses))
          FROM f
        UNION ALL
        SELECT f.inbox, f.mid, 'message.parsed', jsonb_build_object(
                   'inboxId', f.inbox, 'address', f.address, 'messageId', f.mid, 'threadId', f.tid,
                   'messageIdHeader', f.doc->>'messageId', 'subject', f.doc->>'subject',
                   'from', f.doc->>'from', 'contentTruncated', f.cut) || f.parsed
          FROM f WHERE f.dir = 'inbound' AND f.parsed IS NOT NULL),
    sent AS (
        UPDATE postinbox.inbox ib
           SET total_sent = ib.total_sent + s.n, updated_at = now()
          FROM (SELECT f.inbox, sum(cardinality(f.addresses)) AS n
                  FROM f JOIN locked ON locked.id = f.inbox
                 WHERE f.dir = 'outbound' GROUP BY f.inbox) AS s
         WHERE ib.id = s.inbox)
    SELECT coalesce(array_agg(other.n ORDER BY other.n), '{}') INTO others FROM other;

    RETURN others;
END $$;
