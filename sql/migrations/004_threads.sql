-- 004_threads.sql -- conversations: every message row belongs to a thread
-- of its own inbox (issue 4, "Threads").  How messages are linked, found,
-- merged and locked is in sql/functions/threads.sql, with thread_attach().
--
-- Thread columns:
--   subject           the earliest message's subject without reply and
--                     forward prefixes (Re:, Fwd:, Fw:, AW:, SV:, WG:,
--                     VS:, Antw:, also "Re[2]:"), what a list shows
--   raw_subject       the earliest message's subject as stored
--   message_count     message rows in the thread
--   participants      distinct lower-cased addresses of From/To/Cc of its
--                     messages (record_message's doc.participants), in
--                     order of first appearance, at most 100
--   first_message_at, last_message_at
-- message.reference_ids: the "<id>" tokens of In-Reply-To and References
-- (message_reference_ids() in sql/functions/threads.sql).

SET LOCAL search_path = postinbox, pg_catalog, public;

ALTER TABLE thread
    ADD COLUMN raw_subject      text,
    ADD COLUMN participants     text[] NOT NULL DEFAULT '{}',
    ADD COLUMN first_message_at timestamptz NOT NULL DEFAULT now();

ALTER TABLE message
    ADD COLUMN reference_ids    text[] NOT NULL DEFAULT '{}';

-- A child that arrived before its parent is found by the parent's
-- Message-ID, siblings by a shared reference: one row per (inbox,
-- referenced id, message), filled from reference_ids by the trigger
-- message_reference_fill (sql/functions/threads.sql).  A
-- btree on equality stays cheap however big the inbox grows, with any
-- plan; (a GIN index on reference_ids cannot lead with the inbox, and a
-- cached generic plan of "reference_ids && ids" walked the inbox.)
-- Messages without references, most of them, add no row.
CREATE TABLE message_reference (
    inbox_id    uuid NOT NULL,
    ref_id      text NOT NULL,
    message_id  uuid NOT NULL REFERENCES message(id) ON DELETE CASCADE,
    PRIMARY KEY (inbox_id, ref_id, message_id)
);
CREATE INDEX message_reference_message_idx ON message_reference (message_id);

-- Messages by Message-ID, led by the id: "which messages of this inbox
-- have one of these ids" must cost one index probe per id with any plan.
-- Led by the inbox (001), a plan made before the table had statistics
-- used the inbox column alone and read every message of the inbox.
DROP INDEX message_msgid_idx;
CREATE INDEX message_msgid_idx ON message (message_id_header, inbox_id);
-- A thread's messages in order; moving them on a merge; deleting a thread.
CREATE INDEX message_thread_idx ON message (thread_id, created_at);

-- Backfill.  Reference ids of the messages stored so far (new mail links
-- to them), then every thread's figures from its messages.  Participants
-- of old messages were not recorded as addresses: they are taken from
-- the stored From/To/Cc text, anything shaped local@domain.
-- A migration calls no function of sql/functions/ (those are applied
-- after every migration, and may change later): the rules are spelled
-- out here as they were when this migration was written --
-- message_reference_ids(), thread_subject() and thread_participants('{}', x).
UPDATE message msg
   SET reference_ids = (
       SELECT coalesce(array_agg(DISTINCT x.id), '{}')
         FROM ((SELECT r.m[1] AS id
                  FROM regexp_matches(coalesce(msg.in_reply_to, ''), '<[^<>[:space:]]{1,250}>', 'g')
                       WITH ORDINALITY AS r(m, n)
                 ORDER BY r.n LIMIT 10)
               UNION ALL
               SELECT refs.id
                 FROM (SELECT r.m[1] AS id, r.n, count(*) OVER () AS total
                         FROM regexp_matches(coalesce(msg.references_header, ''), '<[^<>[:space:]]{1,250}>', 'g')
                              WITH ORDINALITY AS r(m, n)) AS refs
                WHERE refs.n = 1 OR refs.n > refs.total - 49) AS x)
 WHERE msg.in_reply_to IS NOT NULL OR msg.references_header IS NOT NULL;
INSERT INTO message_reference (inbox_id, ref_id, message_id)
SELECT m.inbox_id, r, m.id FROM message m, unnest(m.reference_ids) AS r
ON CONFLICT DO NOTHING;

UPDATE thread t
   SET message_count = s.n,
       first_message_at = s.first_at,
       last_message_at = s.last_at,
       raw_subject = s.subject,
       subject = btrim(regexp_replace(s.subject,
           '^([[:space:]]*(re|fwd?|aw|sv|wg|vs|antw)[[:space:]]*(\[[0-9]+\])?[[:space:]]*:)+', '', 'i')),
       participants = (
           SELECT coalesce(array_agg(p.a ORDER BY p.first), '{}')
             FROM (SELECT lower(btrim(u.a)) AS a, min(u.n) AS first
                     FROM unnest(coalesce(s.people, '{}')) WITH ORDINALITY AS u(a, n)
                    WHERE u.a ~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+$' AND length(u.a) <= 254
                    GROUP BY 1
                    ORDER BY 2
                    LIMIT 100) AS p)
  FROM (SELECT m.thread_id,
               count(*) AS n, min(m.created_at) AS first_at, max(m.created_at) AS last_at,
               (array_agg(m.subject ORDER BY m.created_at, m.id))[1] AS subject,
               (SELECT array_agg(a.x[1] ORDER BY mm.created_at, mm.id, a.n)
                  FROM message mm,
                       regexp_matches(concat_ws(', ', mm.from_header, mm.to_header, mm.cc_header),
                                      '[^[:space:]<>(),;:"@]+@[^[:space:]<>(),;:"@]+', 'g')
                       WITH ORDINALITY AS a(x, n)
                 WHERE mm.thread_id = m.thread_id) AS people
          FROM message m GROUP BY m.thread_id) AS s
 WHERE s.thread_id = t.id;
