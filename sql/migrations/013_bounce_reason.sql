-- 013_bounce_reason.sql -- failures read by reason (issue 12): every
-- failed or deferred recipient carries the classifier's answer
-- (lib/mail/bounce_class.h), and suppression entries say why they exist
-- and may expire.
--
--   message_recipient.bounce_reason   the vocabulary of bounce_class.h
--                                     ("user_unknown", "mailbox_full", ...)
--   message_recipient.bounce_type     permanent | transient | undetermined
--   message_recipient.smtp_code       the SMTP reply code (550), or NULL
--   message_recipient.sender_problem  the reason says the *sender* has a
--                                     problem (blocked, content, auth ...):
--                                     counted in the block rate, not the
--                                     bounce rate (suppression.sql)
--   suppression.bounce_reason         the reason of the bounce that put the
--                                     address on the list (NULL for
--                                     complaints and hand-made entries
--                                     without one)
--   suppression.expires_at            hand-made entries may expire; an
--                                     expired entry suppresses nothing
--
-- Rows written before this migration keep NULL: their reason was never
-- read (postinboxctl shows them as "undetermined").

SET LOCAL search_path = postinbox, pg_catalog, public;

ALTER TABLE message_recipient
    ADD COLUMN bounce_reason  text CHECK (bounce_reason ~ '^[a-z_]{1,40}$'),
    ADD COLUMN bounce_type    text CHECK (bounce_type IN ('permanent', 'transient', 'undetermined')),
    ADD COLUMN smtp_code      smallint CHECK (smtp_code BETWEEN 200 AND 599),
    ADD COLUMN sender_problem boolean NOT NULL DEFAULT false;

-- The block rate counts sender problems over a window, like the bounce
-- rate counts bounces.
CREATE INDEX message_recipient_sender_problem_idx ON message_recipient (inbox_id, updated_at)
    WHERE sender_problem;

ALTER TABLE suppression
    ADD COLUMN bounce_reason text CHECK (bounce_reason ~ '^[a-z_]{1,40}$'),
    ADD COLUMN expires_at    timestamptz CHECK (expires_at IS NULL OR source = 'manual');
