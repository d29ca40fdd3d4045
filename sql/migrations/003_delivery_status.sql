-- 003_delivery_status.sql -- delivery status of outbound messages, as
-- postinbox-policyd reads it from Postfix's log (policyd/logfollow.c):
-- one message_recipient row per recipient of an outbound row, which also
-- makes a log line seen twice harmless.  What a line means (the states,
-- the events, the classification hard/soft) is in
-- sql/functions/delivery.sql, with delivery_apply() and record_delivery().

SET LOCAL search_path = postinbox, pg_catalog, public;

CREATE TABLE message_recipient (
    message_id   uuid NOT NULL REFERENCES message(id) ON DELETE CASCADE,
    inbox_id     uuid NOT NULL,                     -- the sender inbox (partitioning key)
    address      text NOT NULL,                     -- lower-cased, as in envelope_to
    state        text NOT NULL CHECK (state IN ('delivered', 'deferred', 'bounced', 'expired')),
    dsn          text,                              -- X.Y.Z of the latest line
    diagnostic   text,                              -- the text in parentheses of the latest line
    relay        text,
    deferrals    integer NOT NULL DEFAULT 0,        -- deferred lines counted
    last_delay   double precision,                  -- delay= of the latest counted line
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, address)
);
CREATE INDEX message_recipient_inbox_idx ON message_recipient (inbox_id, updated_at);

-- The lookup by queue id only ever wants outbound rows.
CREATE INDEX message_outbound_queue_idx ON message (queue_id, created_at) WHERE direction = 'outbound';
