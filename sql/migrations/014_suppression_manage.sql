-- 014_suppression_manage.sql -- suppression lists managed through the
-- API and postinboxctl (issue 12): GET /v1/inboxes/{id}/suppressions and
-- `postinboxctl suppression list|export` page an inbox's list newest
-- first (lib/admin/admin_list.c: ORDER BY created_at DESC, address) and
-- filter it by source, bounce reason, address prefix and creation time.
-- This index serves that order within one inbox; the primary key
-- (inbox_id, address) still serves the milter's probe.
--
-- An entry with expires_at in the past (source manual only, 013)
-- suppresses nothing (store_suppressed, lookup()) and counts as absent
-- when the same address is added or imported again
-- (lib/admin/admin_suppression.c replaces it).

SET LOCAL search_path = postinbox, pg_catalog, public;

CREATE INDEX suppression_inbox_created_idx ON suppression (inbox_id, created_at DESC, address);
