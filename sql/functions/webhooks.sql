-- webhooks.sql -- the webhook fan-out: the trigger that turns an event
-- into delivery rows of the outbox (tables: sql/migrations/002_webhooks.sql).
--
-- Writing an event fans it out, in the same transaction, to one delivery
-- row per matching enabled endpoint (trigger event_fanout) and NOTIFYs
-- channel postinbox_webhook.  postinbox-policyd LISTENs on that channel,
-- claims due rows with FOR UPDATE SKIP LOCKED (several daemons share the
-- work), and leases them: a claimed row carries lease_until, so a daemon
-- killed mid-request leaves rows that become due again when the lease
-- runs out.  Delivery is therefore at least once; a duplicate carries the
-- same webhook-id (the event id).
--
-- Isolation: an endpoint belongs to one inbox, or (inbox_id NULL) to its
-- whole account, and the fan-out only ever matches events of that inbox
-- or of that account's inboxes.  An event of the account itself (inbox_id
-- NULL, account_id set: domain.dns_failed, domain.verified) goes to the
-- account-wide endpoints of that account only.
--
-- A definition file (sql/functions/): one definition per function,
-- re-applied by `postinboxctl migrate` when the file changes
-- (docs/ARCHITECTURE.md, "The SQL layout").  A trigger is dropped and
-- created again (CREATE OR REPLACE TRIGGER needs PostgreSQL 14; the whole
-- file runs in migrate's transaction, so no event goes without it).
--
-- Functions: event_fanout() and its trigger on event.

SET LOCAL search_path = postinbox, pg_catalog, public;

-- Fan-out: one delivery per matching enabled endpoint, then wake the daemons.
CREATE OR REPLACE FUNCTION event_fanout() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    INSERT INTO postinbox.webhook_delivery (event_id, endpoint_id, inbox_id)
    SELECT NEW.id, e.id, NEW.inbox_id
      FROM postinbox.webhook_endpoint e
      LEFT JOIN postinbox.inbox i ON i.id = NEW.inbox_id
     WHERE e.enabled
       AND (e.inbox_id = NEW.inbox_id
            OR (e.inbox_id IS NULL AND e.account_id = coalesce(i.account_id, NEW.account_id)))
       AND (cardinality(e.event_types) = 0 OR NEW.type = ANY (e.event_types));
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM pg_notify('postinbox_webhook', '');
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS event_fanout ON event;
CREATE TRIGGER event_fanout AFTER INSERT ON event
    FOR EACH ROW EXECUTE FUNCTION event_fanout();
