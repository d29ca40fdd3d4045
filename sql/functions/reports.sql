-- reports.sql -- bounces and complaints that arrive by mail: the message
-- a report is about, and what the report means for it.  Columns:
-- sql/migrations/006_inbound.sql; record_message() (record.sql) calls
-- report_apply_dsn() / report_apply_arf() for an inbound row that
-- carries a report.
--
-- The milter keeps a copy of every message to an inbox (up to
-- parse_max_size bytes) and lib/mail/inbound.c reads it at end of message:
-- a delivery status notification (RFC 3464, or the non-standard bounces
-- lib/mail/dsn.c knows) or an ARF feedback report (RFC 5965) arrives in
-- record_message()'s document as doc.report (see dsn_report_json() in
-- lib/mail/dsn.h).  The report is about an OUTBOUND message of the inbox that
-- receives it; it is matched inside that inbox only (an inbox never
-- touches another's messages):
--   1. the outbound message whose Message-ID is report.originalMessageId
--      (Original-Message-ID, or the Message-ID of the returned headers);
--   2. else the newest outbound message with queue id
--      report.originalQueueId (X-Postfix-Queue-ID).
-- A report recipient is one of that message's envelope recipients when
-- its Final-Recipient or Original-Recipient is, or when both the message
-- and the report have exactly one recipient (aliases rewrite addresses).
--
-- What a matched DSN recipient means goes through delivery_apply(), the
-- same function the log follower uses (delivery.sql), so a bounce seen both in
-- Postfix's log and in the DSN that Postfix mails back counts once, in
-- whichever order they arrive:
--   action delivered/relayed/expanded -> 'sent'     (message.delivered)
--   action delayed                    -> 'deferred' (message.deferred)
--   action failed                     -> 'bounced'  (message.bounced)
--   action failed, type soft (4.x.x)  -> 'expired'  (message.bounced)
-- Each recipient carries the one classifier's answer (dsn_report_json():
-- reason, bounceType, smtpCode, senderProblem, lib/mail/bounce_class.h),
-- passed to delivery_apply, which suppresses and counts only permanent
-- failures, as for a log line.
-- A DSN that names no recipient we could read (report.undetermined:
-- RFC 3464 without a readable recipient, or a known bounce format whose
-- recipient is missing) is still a failure: message.bounced with
-- "undetermined": true, reason and bounceType "undetermined" and no
-- recipients, on the original message when it is matched; it suppresses,
-- counts and changes nothing (the same report twice is told twice).
-- A matched ARF report goes through complaint_apply() (suppression.sql):
-- once per message and recipient; an ARF report is matched by Message-ID
-- only.  The complaining recipient is Original-Rcpt-To when it is one of
-- the message's recipients, or the only recipient.
--
-- Events: the report's event replaces message.received for the inbox
-- that got it and belongs to the ORIGINAL message (its timeline); its
-- payload names the report's own row as reportMessageId.  A report that
-- matches no message of the inbox (forged, or about mail sent before
-- postinbox) still yields message.bounced / message.deferred /
-- message.complained on the report's own row with "matched": false, and
-- changes no count, no suppression, no status: a stranger's mail cannot
-- suspend an inbox.  A matched report that tells nothing new (the log
-- said it already) yields message.received with report.duplicate = true
-- (record.sql).
--
-- A definition file (sql/functions/): one definition per function,
-- re-applied by `postinboxctl migrate` when the file changes
-- (docs/ARCHITECTURE.md, "The SQL layout").
--
-- Functions: report_original(), report_recipient(), report_apply_dsn(),
-- report_apply_arf().

SET LOCAL search_path = postinbox, pg_catalog, public;

-- The outbound message of inbox p_inbox that report r is about, locked;
-- NULL (all fields) when none.
CREATE OR REPLACE FUNCTION report_original(p_inbox uuid, r jsonb) RETURNS message
LANGUAGE plpgsql AS $$
DECLARE
    m   postinbox.message;
    mid text := '<' || (r->>'originalMessageId') || '>';
BEGIN
    IF r->>'originalMessageId' IS NOT NULL THEN
        SELECT * INTO m FROM postinbox.message
         WHERE inbox_id = p_inbox AND message_id_header = mid AND direction = 'outbound'
         ORDER BY created_at DESC LIMIT 1 FOR UPDATE;
        IF FOUND THEN
            RETURN m;
        END IF;
    END IF;
    IF r->>'originalQueueId' IS NOT NULL THEN
        SELECT * INTO m FROM postinbox.message
         WHERE queue_id = r->>'originalQueueId' AND direction = 'outbound' AND inbox_id = p_inbox
         ORDER BY created_at DESC LIMIT 1 FOR UPDATE;
    END IF;
    RETURN m;
END $$;

-- Which envelope recipient of m a report recipient is (NULL: none).
CREATE OR REPLACE FUNCTION report_recipient(m message, p_final text, p_original text, p_only boolean) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN lower($2) = ANY (env) THEN lower($2)
                WHEN lower($3) = ANY (env) THEN lower($3)
                WHEN $4 AND cardinality(env) = 1 THEN env[1] END
      FROM (SELECT ARRAY(SELECT lower(e) FROM unnest(($1).envelope_to) e) AS env) x
$$;

-- A delivery status report r received by inbox ib as row p_row: applies
-- it and writes its event.  Returns the event type.
CREATE OR REPLACE FUNCTION report_apply_dsn(ib inbox, p_row uuid, r jsonb, p_policy jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    m      postinbox.message;
    rc     jsonb;
    addr   text;
    st     text;
    one    jsonb;
    rcpts  jsonb := '[]';
    worst  text;
    only1  boolean := jsonb_array_length(coalesce(r->'recipients', '[]')) = 1;
    evtype text;
BEGIN
    m := postinbox.report_original(ib.id, r);
    FOR rc IN SELECT * FROM jsonb_array_elements(coalesce(r->'recipients', '[]')) LOOP
        st := CASE WHEN rc->>'action' IN ('delivered', 'relayed', 'expanded') THEN 'sent'
                   WHEN rc->>'action' = 'delayed' THEN 'deferred'
                   WHEN rc->>'type' = 'soft' THEN 'expired'
                   ELSE 'bounced' END;
        worst := CASE WHEN st IN ('bounced', 'expired') OR worst = 'bounced' THEN 'bounced'
                      WHEN st = 'deferred' OR worst = 'deferred' THEN 'deferred'
                      ELSE 'sent' END;
        IF m.id IS NULL THEN
            CONTINUE;
        END IF;
        addr := postinbox.report_recipient(m, rc->>'address', rc->>'originalRecipient', only1);
        IF addr IS NULL THEN
            CONTINUE;
        END IF;
        one := postinbox.delivery_apply(m, addr, st, rc->>'status', left(rc->>'diagnostic', 1024),
                                        rc->>'remoteMta', NULL, false, p_policy, rc->>'reason',
                                        rc->>'bounceType', (rc->>'smtpCode')::integer,
                                        (rc->>'senderProblem')::boolean);
        IF one IS NOT NULL THEN
            rcpts := rcpts || jsonb_build_array(one);
        END IF;
    END LOOP;

    IF m.id IS NULL THEN
        -- Unmatched: told as it came, counting nothing.
        evtype := CASE worst WHEN 'sent' THEN 'message.delivered' WHEN 'deferred' THEN 'message.deferred'
                             ELSE 'message.bounced' END;
        INSERT INTO postinbox.event (inbox_id, message_id, type, payload)
        VALUES (ib.id, p_row, evtype, jsonb_build_object(
            'inboxId', ib.id, 'address', ib.address, 'messageId', NULL, 'reportMessageId', p_row,
            'matched', false, 'originalMessageId', r->>'originalMessageId', 'style', r->>'style',
            'undetermined', coalesce((r->>'undetermined')::boolean, false),
            'recipients', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                               'address', x->>'address', 'status', x->>'status', 'action', x->>'action',
                               'diagnostic', x->>'diagnostic', 'type', x->>'type')), '[]')
                             FROM jsonb_array_elements(coalesce(r->'recipients', '[]')) x)));
        RETURN evtype;
    END IF;
    IF jsonb_array_length(rcpts) = 0 AND coalesce((r->>'undetermined')::boolean, false) THEN
        -- A failure report that names no recipient we could read: kept
        -- and told as a failure of undetermined reason, counting nothing
        -- and changing no recipient's state.
        INSERT INTO postinbox.event (inbox_id, message_id, type, payload)
        VALUES (ib.id, m.id, 'message.bounced', jsonb_build_object(
            'inboxId', ib.id, 'address', ib.address, 'messageId', m.id, 'queueId', m.queue_id,
            'reportMessageId', p_row, 'matched', true, 'originalMessageId', m.message_id_header,
            'style', r->>'style', 'undetermined', true, 'reason', 'undetermined',
            'bounceType', 'undetermined', 'recipients', '[]'::jsonb));
        RETURN 'message.bounced';
    END IF;
    IF jsonb_array_length(rcpts) = 0 THEN
        RETURN NULL;                                   -- nothing new: the caller says received
    END IF;
    PERFORM postinbox.message_refresh_status(m);
    evtype := CASE WHEN EXISTS (SELECT 1 FROM jsonb_array_elements(rcpts) x WHERE x->>'action' = 'failed')
                        THEN 'message.bounced'
                   WHEN EXISTS (SELECT 1 FROM jsonb_array_elements(rcpts) x WHERE x->>'action' = 'delayed')
                        THEN 'message.deferred'
                   ELSE 'message.delivered' END;
    INSERT INTO postinbox.event (inbox_id, message_id, type, payload)
    VALUES (ib.id, m.id, evtype, jsonb_build_object(
        'inboxId', ib.id, 'address', ib.address, 'messageId', m.id, 'queueId', m.queue_id,
        'reportMessageId', p_row, 'matched', true, 'originalMessageId', m.message_id_header,
        'style', r->>'style', 'recipients', rcpts));
    RETURN evtype;
END $$;

-- A feedback report r received by inbox ib as row p_row.  Returns the
-- event type, or NULL when it was told already.
CREATE OR REPLACE FUNCTION report_apply_arf(ib inbox, p_row uuid, r jsonb, p_policy jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    m     postinbox.message;
    addr  text;
    fresh boolean := false;
BEGIN
    -- By Message-ID only: a complaint counts against the inbox and
    -- suppresses, so it must name the message itself, not a queue id a
    -- stranger might guess.
    m := postinbox.report_original(ib.id, r - 'originalQueueId');
    IF m.id IS NOT NULL THEN
        addr := postinbox.report_recipient(m, r->>'originalRcptTo', NULL, true);
        IF addr IS NOT NULL THEN
            -- true: new; false: a repeat; NULL: not a recipient after all
            fresh := postinbox.complaint_apply(m, addr, r->>'feedbackType', p_policy);
            IF fresh IS FALSE THEN
                RETURN NULL;
            END IF;
            fresh := coalesce(fresh, false);
        END IF;
    END IF;
    INSERT INTO postinbox.event (inbox_id, message_id, type, payload)
    VALUES (ib.id, coalesce(m.id, p_row), 'message.complained', jsonb_build_object(
        'inboxId', ib.id, 'address', ib.address, 'messageId', m.id, 'queueId', m.queue_id,
        'reportMessageId', p_row, 'matched', m.id IS NOT NULL,
        'originalMessageId', coalesce(m.message_id_header, r->>'originalMessageId'),
        'feedbackType', r->>'feedbackType', 'recipient', addr, 'counted', fresh,
        'userAgent', r->>'userAgent', 'sourceIp', r->>'sourceIp', 'arrivalDate', r->>'arrivalDate'));
    RETURN 'message.complained';
END $$;
