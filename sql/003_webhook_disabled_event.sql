-- 003_webhook_disabled_event.sql -- event types may hold an underscore.
--
-- postinbox-policyd records "inbox.webhook_disabled" when it disables an
-- endpoint (410 Gone, or failing longer than webhook_disable_after);
-- 001's check allowed only [a-z] after the dot.  The new check is looser,
-- so existing rows pass; NOT VALID + VALIDATE keeps the lock short.

SET LOCAL search_path = postinbox, pg_catalog, public;

ALTER TABLE event DROP CONSTRAINT event_type_check;
ALTER TABLE event ADD CONSTRAINT event_type_check
    CHECK (type ~ '^(message|inbox)\.[a-z]+(_[a-z]+)*$') NOT VALID;
ALTER TABLE event VALIDATE CONSTRAINT event_type_check;
