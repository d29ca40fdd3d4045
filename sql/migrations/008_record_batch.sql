-- 008_record_batch.sql -- what the group commit (record_fast(),
-- sql/functions/record.sql) made unnecessary: the index over every
-- message's queue id.

SET LOCAL search_path = postinbox, pg_catalog, public;

-- Every lookup by queue id is of an outbound message (the log follower, a
-- bounce's X-Postfix-Queue-ID) and uses message_outbound_queue_idx (003);
-- the index of 001 over every row only cost each insert.
DROP INDEX message_queue_idx;
