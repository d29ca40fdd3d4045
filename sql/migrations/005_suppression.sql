-- 005_suppression.sql -- per-inbox suppression lists and what automatic
-- suspension counts (issue 4).  The rules are in
-- sql/functions/suppression.sql (check_suspension(), complaint_apply());
-- lookup() says whether an inbox has a list (sql/functions/lookup.sql),
-- delivery_apply() adds hard bounces (sql/functions/delivery.sql).
-- An address stays on the list until `postinboxctl suppression remove`.

SET LOCAL search_path = postinbox, pg_catalog, public;

CREATE TABLE suppression (
    inbox_id    uuid NOT NULL REFERENCES inbox(id) ON DELETE CASCADE,
    address     text NOT NULL CHECK (address = lower(address) AND length(address) BETWEEN 1 AND 320),
    source      text NOT NULL CHECK (source IN ('bounce', 'complaint', 'manual')),
    reason      text,                                -- diagnostic, feedback type or the admin's text
    dsn         text,                                -- X.Y.Z of a bounce
    message_id  uuid REFERENCES message(id) ON DELETE SET NULL,  -- the message that caused it
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (inbox_id, address)
);
CREATE INDEX suppression_message_idx ON suppression (message_id) WHERE message_id IS NOT NULL;

-- A complaint counts once per message and recipient.  complaint_apply
-- leaves updated_at alone: it stays the time of the last delivery line.
ALTER TABLE message_recipient ADD COLUMN complained_at timestamptz;
CREATE INDEX message_recipient_complaint_idx ON message_recipient (inbox_id, complained_at)
    WHERE complained_at IS NOT NULL;
