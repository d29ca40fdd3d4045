-- 012_record_deadline.sql -- every record call carries the deadline by
-- which it must commit, or not at all (sql/functions/record.sql,
-- "Deadlines"): record_message() and record_fast() take it as a second
-- argument.  The one-argument definitions are dropped here;
-- sql/functions/record.sql creates the new ones right after.

SET LOCAL search_path = postinbox, pg_catalog, public;

DROP FUNCTION IF EXISTS record_message(jsonb);
DROP FUNCTION IF EXISTS record_fast(jsonb);
