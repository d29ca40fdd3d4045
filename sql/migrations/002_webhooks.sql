-- 002_webhooks.sql -- webhook endpoints and the delivery outbox (the
-- fan-out trigger is in sql/functions/webhooks.sql).
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
-- or of that account's inboxes.

SET LOCAL search_path = postinbox, pg_catalog, public;

CREATE TABLE webhook_endpoint (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id         uuid NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    inbox_id           uuid REFERENCES inbox(id) ON DELETE CASCADE,   -- NULL: account-wide
    url                text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2048),
    secret             text NOT NULL CHECK (secret ~ '^whsec_'),
    previous_secret    text CHECK (previous_secret ~ '^whsec_'),
    previous_secret_expires_at timestamptz,
    event_types        text[] NOT NULL DEFAULT '{}',                 -- empty: every type
    enabled            boolean NOT NULL DEFAULT true,
    disabled_reason    text,
    failing_since      timestamptz,              -- start of the current run of failures
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoint_inbox_idx ON webhook_endpoint (inbox_id) WHERE enabled;
CREATE INDEX webhook_endpoint_account_idx ON webhook_endpoint (account_id) WHERE enabled AND inbox_id IS NULL;

-- One row per event x endpoint.  status: pending (due at next_attempt_at,
-- or leased until lease_until), delivered, failed (attempts exhausted or
-- endpoint gone).  Kept after the last attempt for inspection and replay.
CREATE TABLE webhook_delivery (
    id               bigserial PRIMARY KEY,
    event_id         uuid NOT NULL REFERENCES event(id) ON DELETE CASCADE,
    endpoint_id      uuid NOT NULL REFERENCES webhook_endpoint(id) ON DELETE CASCADE,
    inbox_id         uuid NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    lease_until      timestamptz,
    last_status_code integer,
    last_error       text,
    last_latency_ms  integer,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX webhook_delivery_due_idx ON webhook_delivery (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_delivery_endpoint_idx ON webhook_delivery (endpoint_id, created_at);

-- Every attempt, for `postinboxctl webhook deliveries`.
CREATE TABLE webhook_attempt (
    id           bigserial PRIMARY KEY,
    delivery_id  bigint NOT NULL REFERENCES webhook_delivery(id) ON DELETE CASCADE,
    inbox_id     uuid NOT NULL,
    attempt      integer NOT NULL,
    status_code  integer,                 -- NULL: no HTTP answer (timeout, refused, SSRF)
    latency_ms   integer NOT NULL,
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_attempt_delivery_idx ON webhook_attempt (delivery_id, attempt);

-- inbox.webhook_disabled (the event "an endpoint was disabled") has an
-- underscore, which 001's CHECK on event.type refused.  A type stays
-- (message|inbox).word, words of a-z joined by single underscores.
ALTER TABLE event DROP CONSTRAINT event_type_check,
    ADD CONSTRAINT event_type_check CHECK (type ~ '^(message|inbox)\.[a-z]+(_[a-z]+)*$');
