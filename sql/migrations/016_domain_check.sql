-- 016_domain_check.sql -- a domain's live DNS check, kept with it, and
-- events that belong to an account rather than an inbox (issue 13).
--
--   domain.checked_at      when the records were last asked for in DNS
--                          (postinboxctl domain verify, POST
--                          /v1/domains/{id}/verify, or postinbox-policyd's
--                          periodic re-check)
--   domain.last_check      what that check found: the output of
--                          admin_domain_verify (lib/admin/admin_domain.h),
--                          per record status, found, detail, and the server
--   domain.check_failures  re-checks in a row whose required records were
--                          not all valid (missing, invalid or unknown)
--   domain.dns_failed_at   set when check_failures reached
--                          domain_check_failures and domain.dns_failed was
--                          sent; cleared, with domain.verified sent, by the
--                          first check that finds them valid again.  The
--                          domain stays verified meanwhile: a DNS hiccup
--                          must not stop its mail.
--   domain.next_check_at   when the re-check is due.  A new pending
--                          domain is due at once (it becomes verified once
--                          its records appear); NULL: not watched, as a
--                          domain the operator verified by its word
--                          (`domain add --verified`, and every domain
--                          older than this migration) until its first
--                          check by hand, which schedules the next
--
--   event.account_id       the account of an event that has no inbox
--                          (domain.dns_failed, domain.verified): such an
--                          event fans out to the account-wide endpoints
--                          only (sql/functions/webhooks.sql)
--   webhook_delivery.inbox_id, webhook_attempt.inbox_id  NULL for those

SET LOCAL search_path = postinbox, pg_catalog, public;

ALTER TABLE domain
    ADD COLUMN checked_at timestamptz,
    ADD COLUMN last_check jsonb,
    ADD COLUMN check_failures integer NOT NULL DEFAULT 0 CHECK (check_failures >= 0),
    ADD COLUMN dns_failed_at timestamptz,
    ADD COLUMN next_check_at timestamptz;
CREATE INDEX domain_next_check_idx ON domain (next_check_at) WHERE kind = 'custom';

ALTER TABLE event
    ALTER COLUMN inbox_id DROP NOT NULL,
    ADD COLUMN account_id uuid REFERENCES account(id) ON DELETE CASCADE,
    ADD CONSTRAINT event_owner_check CHECK (inbox_id IS NOT NULL OR account_id IS NOT NULL),
    DROP CONSTRAINT event_type_check,
    ADD CONSTRAINT event_type_check CHECK (type ~ '^(message|inbox|domain)\.[a-z]+(_[a-z]+)*$');
CREATE INDEX event_account_idx ON event (account_id, created_at) WHERE inbox_id IS NULL;

ALTER TABLE webhook_delivery ALTER COLUMN inbox_id DROP NOT NULL;
ALTER TABLE webhook_attempt ALTER COLUMN inbox_id DROP NOT NULL;
