-- 017_tracking.sql -- opens, clicks and one-click unsubscribe (issue 14).
--
--   account.tracking, inbox.tracking   the settings object
--                          {"opens": bool, "clicks": bool, "unsubscribe": bool};
--                          an absent key on the inbox takes the account's,
--                          an absent key on the account is false (off by
--                          default).  tracking_effective() in
--                          sql/functions/tracking.sql reads them; lookup()
--                          gives the milter the result as a bit mask
--   message.tracking_id    12 random bytes the milter chose for an
--                          outbound message it rewrote or gave a
--                          List-Unsubscribe (NULL otherwise); the tracking
--                          tokens carry it (lib/mail/track_token.h)
--   message.links          the original URL of each rewritten link, in
--                          order: links[n] is the target of link number n
--                          (the token's MAC covers it, so a token cannot be
--                          pointed at another URL)
--   engagement             one row per message, kind and link: every
--                          request counted (count, machine_count), when the
--                          first came, the first by a person, and when an
--                          event was last sent for it (bursts are counted,
--                          not multiplied into events)
--   suppression.source     'unsubscribe' added: a List-Unsubscribe POST

SET LOCAL search_path = postinbox, pg_catalog, public;

ALTER TABLE account ADD COLUMN tracking jsonb NOT NULL DEFAULT '{}'
    CHECK (jsonb_typeof(tracking) = 'object');
ALTER TABLE inbox ADD COLUMN tracking jsonb NOT NULL DEFAULT '{}'
    CHECK (jsonb_typeof(tracking) = 'object');

ALTER TABLE message
    ADD COLUMN tracking_id bytea CHECK (length(tracking_id) = 12),
    ADD COLUMN links text[];
CREATE UNIQUE INDEX message_tracking_idx ON message (tracking_id) WHERE tracking_id IS NOT NULL;

CREATE TABLE engagement (
    message_id      uuid NOT NULL REFERENCES message(id) ON DELETE CASCADE,
    inbox_id        uuid NOT NULL REFERENCES inbox(id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('open', 'click', 'unsubscribe')),
    link            integer NOT NULL CHECK (link >= 0),   -- 0 for open and unsubscribe
    count           integer NOT NULL DEFAULT 0 CHECK (count >= 0),          -- every request
    machine_count   integer NOT NULL DEFAULT 0 CHECK (machine_count >= 0),  -- of them by machines
    first_at        timestamptz NOT NULL DEFAULT now(),
    first_human_at  timestamptz,
    last_at         timestamptz NOT NULL DEFAULT now(),
    reported_at     timestamptz,          -- the last event sent for this row
    last_ip         inet,                 -- only with tracking_store_ip = yes
    PRIMARY KEY (message_id, kind, link)
);
CREATE INDEX engagement_inbox_idx ON engagement (inbox_id, last_at);

ALTER TABLE suppression
    DROP CONSTRAINT suppression_source_check,
    ADD CONSTRAINT suppression_source_check
        CHECK (source IN ('bounce', 'complaint', 'manual', 'unsubscribe'));
