-- delivery.sql -- delivery status of outbound messages, as
-- postinbox-policyd reads it from Postfix's log (policyd/logfollow.c),
-- and as bounces arriving by mail tell it (reports.sql).  Tables:
-- sql/migrations/003_delivery_status.sql.
--
-- A Postfix delivery line ("QUEUEID: to=<a>, ..., dsn=X.Y.Z, status=...")
-- belongs to the OUTBOUND row of the sender inbox that the milter stored
-- under that queue id (inbound rows of local inboxes with the same queue
-- id are deliveries TO us, not from us).  Per recipient of that row we
-- keep one message_recipient row; it is also what makes a line seen twice
-- (a restart re-reading the end of the log) harmless: a final state
-- (delivered, bounced, expired) never changes again and never yields a
-- second event, and a deferral counts only when its delay= (Postfix's
-- time since arrival, which grows with every retry) is larger than the
-- last one recorded.
--
-- Classification: every failed or deferred line is read by the one
-- classifier (lib/mail/bounce_class.h) in the caller -- the log follower
-- (postfix_log_classify) or the DSN reader (lib/mail/dsn.c) -- which
-- passes its answer: reason (the vocabulary of bounce_class.h), bounceType
-- (permanent | transient | undetermined), the SMTP code and whether the
-- reason says the *sender* has a problem.  They are kept on the
-- message_recipient row (bounce_reason, bounce_type, smtp_code,
-- sender_problem; sql/migrations/013_bounce_reason.sql) and carried per
-- recipient in the payloads (reason, bounceType, status, smtpCode,
-- diagnostic, action):
--   status=bounced  -> state bounced, message.bounced.
--   status=expired  -> state expired, message.bounced (reason expired:
--                      temporary failures lasted past
--                      maximal_queue_lifetime).
--   status=deferred -> state deferred, message.deferred (first deferral
--                      per recipient, or every retry when asked).
--   status=sent     -> message.delivered (reason and bounceType null).
-- Only a permanent failure (the address is gone: user unknown, host
-- unknown, has moved, not accepting mail) suppresses the recipient and
-- counts in inbox.bounce_count, what the bounce rate of automatic
-- suspension counts; a 5xx that refuses this message or this sender
-- (mailbox full, spam, blocked, authentication ...) does neither.  A
-- sender-problem failure counts in the block rate (check_suspension,
-- suppression.sql).  The payloads' legacy field "type" is "hard" for a
-- permanent failure and "soft" for every other failure or deferral (null
-- when delivered); new consumers read bounceType.
--
-- A definition file (sql/functions/): one definition per function,
-- re-applied by `postinboxctl migrate` when the file changes
-- (docs/ARCHITECTURE.md, "The SQL layout").
--
-- Functions: delivery_apply(), message_refresh_status(), record_delivery().

SET LOCAL search_path = postinbox, pg_catalog, public;

-- Retired signatures (before 005 they had no p_policy; before 013 no
-- classification): a database of an older release has them, and nothing
-- calls them any more.
DROP FUNCTION IF EXISTS delivery_apply(message, text, text, text, text, text, double precision, boolean);
DROP FUNCTION IF EXISTS record_delivery(text, text, text, text, text, text, text, double precision, boolean);
DROP FUNCTION IF EXISTS delivery_apply(message, text, text, text, text, text, double precision, boolean, jsonb);
DROP FUNCTION IF EXISTS record_delivery(text, text, text, text, text, text, text, double precision, boolean, jsonb);

-- One recipient's line applied to message m.  Returns the recipients[]
-- element for an event, or NULL when nothing new happened (a duplicate,
-- or a counted deferral that is not to be announced).  p_reason,
-- p_bounce_type, p_smtp_code, p_sender_problem: the classifier's answer
-- (NULL for a delivery).  A permanent bounce (state bounced, bounceType
-- permanent) raises inbox.bounce_count and puts the recipient on the
-- sender inbox's suppression list (suppression.bounce_reason = the
-- reason) -- unless it is there already, whatever the source (a
-- hand-made entry that has expired is replaced: it suppressed nothing any
-- more, the bounce suppresses for good); it and a
-- sender-problem failure (bounced or expired) then run
-- check_suspension(inbox, p_policy) (suppression.sql).
-- A recipient the next hop accepted ('delivered' in the log) may bounce
-- later, by a DSN that hop mails back (an asynchronous bounce, read by
-- the milter, reports.sql): delivered -> bounced or expired is applied.
-- Every other final state stays final, so a failure seen both in the log
-- and in the DSN Postfix mails back is applied once.
CREATE OR REPLACE FUNCTION delivery_apply(m message, p_addr text, p_status text, p_dsn text, p_diagnostic text,
                               p_relay text, p_delay double precision, p_every_deferral boolean,
                               p_policy jsonb, p_reason text, p_bounce_type text, p_smtp_code integer,
                               p_sender_problem boolean)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    r        postinbox.message_recipient;
    st       text;
    announce boolean := true;
    permanent boolean;
    code     integer := CASE WHEN p_smtp_code BETWEEN 200 AND 599 THEN p_smtp_code END;
BEGIN
    SELECT * INTO r FROM postinbox.message_recipient WHERE message_id = m.id AND address = p_addr;
    IF FOUND AND r.state <> 'deferred'
       AND NOT (r.state = 'delivered' AND p_status IN ('bounced', 'expired')) THEN
        RETURN NULL;                                   -- final already: a repeat
    END IF;
    st := CASE p_status WHEN 'sent' THEN 'delivered' ELSE p_status END;
    IF st NOT IN ('delivered', 'deferred', 'bounced', 'expired') THEN
        RAISE EXCEPTION 'delivery_apply: unknown status %', p_status;
    END IF;
    IF st = 'delivered' THEN
        p_reason := NULL; p_bounce_type := NULL; code := NULL; p_sender_problem := false;
    ELSE
        -- The per-message "status=expired" line has no reply: the last deferral's code stands.
        code := coalesce(code, CASE WHEN FOUND THEN r.smtp_code END);
        p_reason := coalesce(p_reason, 'undetermined');
        p_bounce_type := coalesce(p_bounce_type, 'undetermined');
        p_sender_problem := coalesce(p_sender_problem, false);
    END IF;
    permanent := st = 'bounced' AND p_bounce_type = 'permanent';
    IF st = 'deferred' AND FOUND THEN
        IF p_delay IS NULL OR (r.last_delay IS NOT NULL AND p_delay <= r.last_delay) THEN
            RETURN NULL;                               -- this retry was counted already
        END IF;
        announce := p_every_deferral;
    END IF;
    INSERT INTO postinbox.message_recipient AS x (message_id, inbox_id, address, state, dsn, diagnostic,
                                                  relay, deferrals, last_delay, bounce_reason, bounce_type,
                                                  smtp_code, sender_problem)
    VALUES (m.id, m.inbox_id, p_addr, st, p_dsn, p_diagnostic, p_relay,
            CASE st WHEN 'deferred' THEN 1 ELSE 0 END, p_delay, p_reason, p_bounce_type, code, p_sender_problem)
    ON CONFLICT (message_id, address) DO UPDATE
       SET state = EXCLUDED.state, dsn = EXCLUDED.dsn, diagnostic = EXCLUDED.diagnostic,
           relay = EXCLUDED.relay, deferrals = x.deferrals + EXCLUDED.deferrals,
           last_delay = coalesce(EXCLUDED.last_delay, x.last_delay),
           bounce_reason = EXCLUDED.bounce_reason, bounce_type = EXCLUDED.bounce_type,
           smtp_code = EXCLUDED.smtp_code, sender_problem = EXCLUDED.sender_problem, updated_at = now();
    IF permanent THEN
        UPDATE postinbox.inbox SET bounce_count = bounce_count + 1, updated_at = now() WHERE id = m.inbox_id;
        INSERT INTO postinbox.suppression (inbox_id, address, source, reason, dsn, message_id, bounce_reason)
        VALUES (m.inbox_id, p_addr, 'bounce', p_diagnostic, p_dsn, m.id, p_reason)
        ON CONFLICT (inbox_id, address) DO UPDATE
           SET source = EXCLUDED.source, reason = EXCLUDED.reason, dsn = EXCLUDED.dsn,
               message_id = EXCLUDED.message_id, bounce_reason = EXCLUDED.bounce_reason,
               expires_at = NULL, created_at = now()
         WHERE suppression.expires_at IS NOT NULL AND suppression.expires_at <= now();
    END IF;
    IF permanent OR (p_sender_problem AND st IN ('bounced', 'expired')) THEN
        PERFORM postinbox.check_suspension(m.inbox_id, p_policy);
    END IF;
    IF NOT announce THEN
        RETURN NULL;
    END IF;
    RETURN jsonb_build_object(
        'address', p_addr, 'status', p_dsn,
        'action', CASE st WHEN 'delivered' THEN 'delivered' WHEN 'deferred' THEN 'delayed' ELSE 'failed' END,
        'diagnostic', p_diagnostic, 'reason', p_reason, 'bounceType', p_bounce_type, 'smtpCode', code,
        'senderProblem', CASE WHEN st <> 'delivered' THEN p_sender_problem END,
        'type', CASE WHEN st = 'delivered' THEN NULL WHEN permanent THEN 'hard' ELSE 'soft' END);
END $$;

-- The status of outbound message m from its recipients' states: delivered,
-- bounced, partially_bounced, deferred, partially_delivered or sent.
CREATE OR REPLACE FUNCTION message_refresh_status(m message) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    n  integer;
    nd integer;
    nb integer;
    nf integer;
BEGIN
    SELECT count(*) FILTER (WHERE state = 'delivered'),
           count(*) FILTER (WHERE state IN ('bounced', 'expired')),
           count(*) FILTER (WHERE state = 'deferred')
      INTO nd, nb, nf
      FROM postinbox.message_recipient WHERE message_id = m.id;
    n := greatest(cardinality(m.envelope_to), nd + nb + nf);
    UPDATE postinbox.message SET updated_at = now(), status =
        CASE WHEN nd = n THEN 'delivered'
             WHEN nb = n THEN 'bounced'
             WHEN nd + nb = n THEN 'partially_bounced'
             WHEN nf > 0 THEN 'deferred'
             WHEN nd > 0 THEN 'partially_delivered'
             ELSE 'sent' END
     WHERE id = m.id;
END $$;

-- record_delivery(...): everything one log line means, in the caller's
-- single statement.  p_to NULL with p_status 'expired' is the per-message
-- line "QUEUEID: from=<...>, status=expired, returned to sender": every
-- recipient not yet final expires (with its last dsn and diagnostic, and
-- the classification given, reason expired).  p_policy: the suspension
-- policy; p_reason, p_bounce_type, p_smtp_code, p_sender_problem: the
-- classifier's answer for the line; all passed to delivery_apply.  Returns 'unknown' (no outbound row with that
-- queue id: the caller may cache that), 'duplicate' (nothing new),
-- 'recorded' (state changed, no event) or the event type written.
CREATE OR REPLACE FUNCTION record_delivery(p_queue_id text, p_to text, p_orig_to text, p_status text, p_dsn text,
                                p_diagnostic text, p_relay text, p_delay double precision,
                                p_every_deferral boolean, p_policy jsonb, p_reason text,
                                p_bounce_type text, p_smtp_code integer, p_sender_problem boolean)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    m        postinbox.message;
    ib       postinbox.inbox;
    addr     text;
    one      jsonb;
    rcpts    jsonb := '[]';
    env      text[];
    evtype   text;
    changed  boolean := false;
BEGIN
    -- Queue ids are reused in time (short ones are inode numbers): the newest row wins.
    SELECT * INTO m FROM postinbox.message
     WHERE queue_id = p_queue_id AND direction = 'outbound'
     ORDER BY created_at DESC LIMIT 1 FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'unknown';
    END IF;
    env := ARRAY(SELECT lower(e) FROM unnest(m.envelope_to) e);

    IF p_to IS NULL THEN
        IF p_status <> 'expired' THEN
            RAISE EXCEPTION 'record_delivery: no recipient';
        END IF;
        FOREACH addr IN ARRAY env LOOP
            IF NOT EXISTS (SELECT 1 FROM postinbox.message_recipient
                            WHERE message_id = m.id AND address = addr AND state <> 'deferred') THEN
                SELECT x.dsn, x.diagnostic INTO p_dsn, p_diagnostic FROM postinbox.message_recipient x
                 WHERE x.message_id = m.id AND x.address = addr;
                one := postinbox.delivery_apply(m, addr, 'expired', coalesce(p_dsn, '4.4.7'),
                                                coalesce(p_diagnostic, 'message expired'), NULL, NULL, false,
                                                p_policy, p_reason, p_bounce_type, p_smtp_code,
                                                p_sender_problem);
                IF one IS NOT NULL THEN
                    rcpts := rcpts || jsonb_build_array(one);
                END IF;
                changed := true;
            END IF;
        END LOOP;
    ELSE
        -- The recipient as the sender gave it: to=, or orig_to= when Postfix rewrote it.
        addr := lower(p_to);
        IF NOT addr = ANY (env) AND p_orig_to IS NOT NULL AND lower(p_orig_to) = ANY (env) THEN
            addr := lower(p_orig_to);
        END IF;
        one := postinbox.delivery_apply(m, addr, p_status, p_dsn, p_diagnostic, p_relay, p_delay,
                                        p_every_deferral, p_policy, p_reason, p_bounce_type, p_smtp_code,
                                        p_sender_problem);
        IF one IS NOT NULL THEN
            rcpts := jsonb_build_array(one);
            changed := true;
        ELSIF p_status = 'deferred' THEN
            -- a counted but silent retry changes the row, not the message status
            changed := EXISTS (SELECT 1 FROM postinbox.message_recipient
                                WHERE message_id = m.id AND address = addr AND updated_at = now());
        END IF;
    END IF;
    IF NOT changed THEN
        RETURN 'duplicate';
    END IF;

    PERFORM postinbox.message_refresh_status(m);

    IF jsonb_array_length(rcpts) = 0 THEN
        RETURN 'recorded';
    END IF;
    evtype := CASE rcpts->0->>'action' WHEN 'delivered' THEN 'message.delivered'
                                       WHEN 'delayed' THEN 'message.deferred'
                                       ELSE 'message.bounced' END;
    SELECT * INTO ib FROM postinbox.inbox WHERE id = m.inbox_id;
    INSERT INTO postinbox.event (inbox_id, message_id, type, payload)
    VALUES (m.inbox_id, m.id, evtype, jsonb_build_object(
        'inboxId', m.inbox_id, 'address', ib.address, 'messageId', m.id, 'queueId', m.queue_id,
        'originalMessageId', m.message_id_header, 'recipients', rcpts));
    RETURN evtype;
END $$;
