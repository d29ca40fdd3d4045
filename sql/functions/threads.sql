-- threads.sql -- conversations: every message row belongs to a thread
-- of its own inbox (issue 4, "Threads").  Tables and columns:
-- sql/migrations/004_threads.sql.
--
-- Linking.  A message is stored with its own Message-ID (message_id_header,
-- the bare "<id>") and reference_ids: the "<id>" tokens of its
-- In-Reply-To and References (of References the first and the last 49;
-- tokens longer than 250 characters or not in angle brackets are dropped).  Two
-- messages of one inbox are linked when
--   - one's Message-ID is among the other's reference_ids (parent/child,
--     whichever arrived first),
--   - they carry the same Message-ID (an inbox mailing itself gets an
--     outbound and an inbound row of one message; a resent copy), or
--   - their reference_ids share an id (siblings, or a grandchild, whose
--     common ancestor never reached this inbox: a missing parent).
-- A thread is a connected group of linked messages.  A new message with
-- no link starts a thread; one linked to one thread joins it; one linked
-- to several (a child arrived before its parent, a grandchild joining two
-- branches) merges them into the oldest: their messages move over, the
-- counts, participants and times are recomputed, the others are deleted.
-- Cycles (A references B and B references A) are just two links to the
-- same group.  Threads never span inboxes: every lookup is within one
-- inbox_id.  A missing or malformed Message-ID links nothing by itself.
--
-- The thread columns are described in sql/migrations/004_threads.sql.
--
-- Locking.  The danger is two related messages recorded at the same time
-- by two milter threads: neither sees the other's uncommitted row, so
-- both would start a thread and the conversation would stay split
-- forever.  Two linked messages always share an id of the set
-- {own Message-ID} + reference_ids (that is what "linked" means above),
-- so thread_attach first takes a transaction-scoped advisory lock on the
-- hash of each id of that set, in ascending order: the second of two
-- related messages waits until the first commits, and then (READ
-- COMMITTED, a new snapshot per statement) sees it.  The key is the id
-- alone, not inbox + id: record_message attaches the same message to
-- several inboxes in one transaction, and with the inbox in the key a
-- message to inboxes A,B and a related one to B,A would take their locks
-- in opposite orders and deadlock; with the id alone every call of one
-- transaction asks for the same sorted set.  The cost is that the same
-- conversation in two inboxes is recorded one transaction at a time,
-- which it is anyway (one SMTP transaction).  Unrelated messages never
-- wait for each other (bar a 32-bit hash collision, which only costs a
-- wait).  Thread rows are then locked FOR UPDATE in id order before they
-- are changed, and record_message visits the inboxes of a message in id
-- order, so two transactions that reach the same threads by different
-- ids (replies to two messages of one conversation, each to inboxes A
-- and B) take the row locks in the same order and serialise instead of
-- deadlocking.  The candidates are looked up again after each wait: a
-- concurrent merge may have moved linked messages into a thread not yet
-- locked, which is then locked out of order; a deadlock that this makes
-- possible (two concurrent merges, each reaching the other's threads) is
-- broken by PostgreSQL, the milter answers 451 4.3.0 and Postfix retries.
--
-- Not done here: existing messages are not re-threaded (their
-- reference_ids are filled, so new mail links to them); the threadId in
-- the payload of events written before a merge names the deleted thread.
--
-- A definition file (sql/functions/): one definition per function,
-- re-applied by `postinboxctl migrate` when the file changes
-- (docs/ARCHITECTURE.md, "The SQL layout").
--
-- Functions: message_reference_fill() and its trigger on message,
-- message_reference_ids(), thread_subject(), thread_participants(),
-- thread_new_row(), thread_attach(), record_link_ids().

SET LOCAL search_path = postinbox, pg_catalog, public;

-- record_message() before threads (001); nothing calls it any more.
DROP FUNCTION IF EXISTS thread_for(uuid, text, text, text);

-- Copies a new message's reference_ids into message_reference (the table
-- that finds a child by its parent's Message-ID, and siblings).  Most
-- messages reference nothing: the trigger's WHEN keeps it from running
-- for them at all.
CREATE OR REPLACE FUNCTION message_reference_fill() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(NEW.reference_ids) > 0 THEN
        INSERT INTO postinbox.message_reference (inbox_id, ref_id, message_id)
        SELECT NEW.inbox_id, r, NEW.id FROM unnest(NEW.reference_ids) AS r
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS message_reference_fill ON message;
CREATE TRIGGER message_reference_fill AFTER INSERT ON message
    FOR EACH ROW WHEN (cardinality(NEW.reference_ids) > 0) EXECUTE FUNCTION message_reference_fill();

-- The "<id>" tokens of In-Reply-To and References, as a set (sorted,
-- distinct): at most 10 from In-Reply-To, and from References the first
-- (the conversation's root) and the last 49 (the nearest ancestors), so
-- a header of thousands of ids costs no more than 50.  Anything else in
-- the headers is ignored.  (The milter stores the first 16 KB of a
-- References header: of a longer one the root survives, the nearest
-- ancestors may not, but In-Reply-To names the parent.)
CREATE OR REPLACE FUNCTION message_reference_ids(p_in_reply_to text, p_references text)
RETURNS text[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    -- plpgsql, not sql: the statement's plan is cached for the session
    -- (a sql function with a FROM clause is planned again at every call).
    IF p_in_reply_to IS NULL AND p_references IS NULL THEN
        RETURN '{}';
    END IF;
    RETURN (
        WITH refs AS (
            SELECT r.m[1] AS id, r.n, count(*) OVER () AS total
              FROM regexp_matches(coalesce(p_references, ''), '<[^<>[:space:]]{1,250}>', 'g')
                   WITH ORDINALITY AS r(m, n))
        SELECT coalesce(array_agg(DISTINCT x.id), '{}')
          FROM ((SELECT r.m[1] AS id
                   FROM regexp_matches(coalesce(p_in_reply_to, ''), '<[^<>[:space:]]{1,250}>', 'g')
                        WITH ORDINALITY AS r(m, n)
                  ORDER BY r.n LIMIT 10)
                UNION ALL
                SELECT refs.id FROM refs WHERE refs.n = 1 OR refs.n > refs.total - 49) AS x);
END $$;

-- A subject without leading reply/forward prefixes: "Re: AW: Fwd: x" -> "x".
CREATE OR REPLACE FUNCTION thread_subject(p_subject text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT btrim(regexp_replace(p_subject,
        '^([[:space:]]*(re|fwd?|aw|sv|wg|vs|antw)[[:space:]]*(\[[0-9]+\])?[[:space:]]*:)+', '', 'i'))
$$;

-- p_old followed by the new addresses of p_new, each lower-cased and
-- trimmed, in order of first appearance, without anything that is not
-- local@domain, at most 100.
CREATE OR REPLACE FUNCTION thread_participants(p_old text[], p_new text[])
RETURNS text[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    -- plpgsql for the cached plan, as message_reference_ids()
    RETURN (
        SELECT coalesce(array_agg(s.a ORDER BY s.first), '{}')
          FROM (SELECT lower(btrim(u.a)) AS a, min(u.n) AS first
                  FROM unnest(coalesce(p_old, '{}') || coalesce(p_new, '{}')) WITH ORDINALITY AS u(a, n)
                 WHERE u.a ~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+$' AND length(u.a) <= 254
                 GROUP BY 1
                 ORDER BY 2
                 LIMIT 100) AS s);
END $$;

-- The row of a new thread of inbox p_inbox started by a message with
-- subject p_subject and From/To/Cc addresses p_participants, for
-- INSERT INTO thread SELECT * FROM thread_new_row(...): what
-- thread_attach() and record_fast() (record.sql) write.  Columns in the
-- table's order (001, then 004's).  A single SELECT, inlined into the
-- caller's statement.
CREATE OR REPLACE FUNCTION thread_new_row(p_id uuid, p_inbox uuid, p_subject text, p_participants text[])
RETURNS SETOF thread LANGUAGE sql STABLE AS $$
    SELECT p_id AS id, p_inbox AS inbox_id, postinbox.thread_subject(p_subject) AS subject,
           1 AS message_count, now() AS created_at, now() AS last_message_at,
           p_subject AS raw_subject, postinbox.thread_participants('{}', p_participants) AS participants,
           now() AS first_message_at
$$;

-- thread_attach(inbox, Message-ID, reference ids, subject, participants):
-- the thread a new message of inbox p_inbox belongs to, found, created or
-- merged as described at the top, and counted: message_count + 1,
-- participants and last_message_at updated.  The caller inserts the
-- message row with the returned thread id in the same transaction.
-- p_reference_ids as made by message_reference_ids().
CREATE OR REPLACE FUNCTION thread_attach(p_inbox uuid, p_message_id text, p_reference_ids text[],
                              p_subject text, p_participants text[])
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
    ids      text[];
    key      integer;
    found    uuid[];
    locked   uuid[] := '{}';
    target   uuid;
    others   uuid[];
BEGIN
    -- The ids that link this message: its references and, if well formed,
    -- its own Message-ID.  Bounded whatever the caller passes.
    ids := ARRAY(SELECT DISTINCT x
                   FROM unnest(coalesce(p_reference_ids[1:100], '{}') || p_message_id) AS x
                  WHERE x ~ '^<[^<>[:space:]]{1,250}>$');

    FOR key IN SELECT DISTINCT hashtext(x) FROM unnest(ids) AS x ORDER BY 1 LOOP
        PERFORM pg_advisory_xact_lock(hashtext('postinbox.thread'), key);
    END LOOP;

    -- The threads of every linked message, their rows locked in id order.
    -- Looked up again after each wait: a concurrent merge may have moved
    -- a linked message to a thread not locked yet.
    FOR attempt IN 1 .. 10 LOOP
        -- (OFFSET 0 keeps the inbox out of the index choice: see
        -- message_msgid_idx.)
        found := ARRAY(SELECT c.thread_id
                         FROM (SELECT m.thread_id, m.inbox_id FROM postinbox.message m
                                WHERE m.message_id_header = ANY (ids) OFFSET 0) AS c
                        WHERE c.inbox_id = p_inbox
                       UNION
                       SELECT m.thread_id FROM postinbox.message_reference r
                         JOIN postinbox.message m ON m.id = r.message_id
                        WHERE r.inbox_id = p_inbox AND r.ref_id = ANY (ids));
        EXIT WHEN locked @> found;
        locked := locked || ARRAY(SELECT t.id FROM postinbox.thread t
                                   WHERE t.id = ANY (found) AND NOT t.id = ANY (locked)
                                   ORDER BY t.id FOR UPDATE);
    END LOOP;
    found := ARRAY(SELECT x FROM unnest(found) AS x WHERE x = ANY (locked));

    IF cardinality(found) = 0 THEN
        target := gen_random_uuid();
        INSERT INTO postinbox.thread
        SELECT * FROM postinbox.thread_new_row(target, p_inbox, p_subject, p_participants);
        RETURN target;
    END IF;

    -- The oldest thread survives (its subject is that of the earliest message).
    SELECT t.id INTO target FROM postinbox.thread t
     WHERE t.id = ANY (found) ORDER BY t.first_message_at, t.created_at, t.id LIMIT 1;
    others := array_remove(found, target);

    IF cardinality(others) = 0 THEN
        UPDATE postinbox.thread
           SET message_count = message_count + 1,
               participants = postinbox.thread_participants(participants, p_participants),
               last_message_at = greatest(last_message_at, now())
         WHERE id = target;
        RETURN target;
    END IF;

    UPDATE postinbox.message SET thread_id = target, updated_at = now()
     WHERE thread_id = ANY (others);
    UPDATE postinbox.thread t
       SET message_count = (SELECT count(*) FROM postinbox.message m WHERE m.thread_id = target) + 1,
           participants = postinbox.thread_participants(
               (SELECT array_agg(p.a ORDER BY o.first_message_at, o.id, p.n)
                  FROM postinbox.thread o, unnest(o.participants) WITH ORDINALITY AS p(a, n)
                 WHERE o.id = ANY (found)),
               p_participants),
           first_message_at = (SELECT min(o.first_message_at) FROM postinbox.thread o WHERE o.id = ANY (found)),
           last_message_at = greatest(now(), (SELECT max(o.last_message_at) FROM postinbox.thread o
                                               WHERE o.id = ANY (found)))
     WHERE t.id = target;
    DELETE FROM postinbox.thread WHERE id = ANY (others);
    RETURN target;
END $$;

-- The ids that link a message to a thread, as thread_attach() takes them:
-- its references (message_reference_ids()) and, if well formed, its own
-- Message-ID.
CREATE OR REPLACE FUNCTION record_link_ids(p_refs text[], p_message_id text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    -- plpgsql for the cached plan, as message_reference_ids();
    -- the shape test of thread_attach(), '^<[^<>[:space:]]{1,250}>$', with
    -- the bound as a length (a bounded repetition makes a big automaton)
    RETURN ARRAY(SELECT DISTINCT y FROM unnest(p_refs[1:100] || p_message_id) AS y
                  WHERE length(y) <= 252 AND y ~ '^<[^<>[:space:]]+>$');
END $$;
