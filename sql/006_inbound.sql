-- 006_inbound.sql -- what the content of mail to an inbox says: its
-- parsed bodies and attachments, and bounces and complaints that arrive
-- by mail.
--
-- Parsed content: doc.parsed (mime_parsed_json() in lib/mime_parse.h:
-- text, html, reply, attachments metadata, size-capped, valid UTF-8) is
-- stored on each inbound row (and the first 200 characters of the reply
-- as its preview) and announced by a message.parsed event after the
-- row's own event.
--
-- The milter keeps a copy of every message to an inbox (up to
-- parse_max_size bytes) and lib/inbound.c reads it at end of message:
-- a delivery status notification (RFC 3464, or the non-standard bounces
-- lib/dsn.c knows) or an ARF feedback report (RFC 5965) arrives in
-- record_message()'s document as doc.report (see dsn_report_json() in
-- lib/dsn.h).  The report is about an OUTBOUND message of the inbox that
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
-- same function the log follower (003) uses, so a bounce seen both in
-- Postfix's log and in the DSN that Postfix mails back counts once, in
-- whichever order they arrive:
--   action delivered/relayed/expanded -> 'sent'     (message.delivered)
--   action delayed                    -> 'deferred' (message.deferred)
--   action failed, type hard          -> 'bounced'  (message.bounced, bounce_count + 1)
--   action failed, type soft (4.x.x)  -> 'expired'  (message.bounced, type soft)
-- A matched ARF report goes through complaint_apply() (005): once per
-- message and recipient; an ARF report is matched by Message-ID only.  The complaining recipient is Original-Rcpt-To
-- when it is one of the message's recipients, or the only recipient.
--
-- Events: the report's event replaces message.received for the inbox
-- that got it and belongs to the ORIGINAL message (its timeline); its
-- payload names the report's own row as reportMessageId.  A report that
-- matches no message of the inbox (forged, or about mail sent before
-- postinbox) still yields message.bounced / message.deferred /
-- message.complained on the report's own row with "matched": false, and
-- changes no count, no suppression, no status: a stranger's mail cannot
-- suspend an inbox.  A matched report that tells nothing new (the log
-- said it already) yields message.received with report.duplicate = true.

SET LOCAL search_path = postinbox, pg_catalog, public;

-- What inbound_analyse() found in an inbound message: the report (NULL
-- for ordinary mail), and whether the copy it read was cut at
-- parse_max_size.
ALTER TABLE message ADD COLUMN report jsonb,
                    ADD COLUMN content_truncated boolean NOT NULL DEFAULT false,
                    ADD COLUMN text_body text,          -- the text/plain body, UTF-8, capped
                    ADD COLUMN html_body text,          -- the text/html body, UTF-8, capped
                    ADD COLUMN reply_text text,         -- the text without quoted history
                    ADD COLUMN attachments jsonb,       -- [{filename, contentType, contentId, inline, size, sha256}]
                    ADD COLUMN parse_defects integer;   -- how often the MIME parser had to guess

-- The outbound message of inbox p_inbox that report r is about, locked;
-- NULL (all fields) when none.
CREATE FUNCTION report_original(p_inbox uuid, r jsonb) RETURNS message
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
CREATE FUNCTION report_recipient(m message, p_final text, p_original text, p_only boolean) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN lower($2) = ANY (env) THEN lower($2)
                WHEN lower($3) = ANY (env) THEN lower($3)
                WHEN $4 AND cardinality(env) = 1 THEN env[1] END
      FROM (SELECT ARRAY(SELECT lower(e) FROM unnest(($1).envelope_to) e) AS env) x
$$;

-- A delivery status report r received by inbox ib as row p_row: applies
-- it and writes its event.  Returns the event type.
CREATE FUNCTION report_apply_dsn(ib inbox, p_row uuid, r jsonb, p_policy jsonb) RETURNS text
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
                                        rc->>'remoteMta', NULL, false, p_policy);
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
            'recipients', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                               'address', x->>'address', 'status', x->>'status', 'action', x->>'action',
                               'diagnostic', x->>'diagnostic', 'type', x->>'type')), '[]')
                             FROM jsonb_array_elements(coalesce(r->'recipients', '[]')) x)));
        RETURN evtype;
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
CREATE FUNCTION report_apply_arf(ib inbox, p_row uuid, r jsonb, p_policy jsonb) RETURNS text
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

-- record_message(doc), as in 004 (threads), plus doc.parsed and
-- doc.report (above), doc.contentTruncated and doc.policy (the suspension
-- policy of 005, passed on to delivery_apply/complaint_apply).  Targets
-- are still visited in inbox id order (see 004 on locking).
CREATE OR REPLACE FUNCTION record_message(doc jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    ids      jsonb := '[]';
    r        jsonb;
    ib       postinbox.inbox;
    mid      uuid;
    tid      uuid;
    rcpts    text[];
    dir      text;
    targets  jsonb := '[]';
    refs     text[] := postinbox.message_reference_ids(doc->>'inReplyTo', doc->>'references');
    people   text[] := ARRAY(SELECT jsonb_array_elements_text(
                                 CASE jsonb_typeof(doc->'participants') WHEN 'array' THEN doc->'participants'
                                                                        ELSE '[]' END));
    report   jsonb := CASE jsonb_typeof(doc->'report') WHEN 'object' THEN doc->'report' END;
    parsed   jsonb := CASE jsonb_typeof(doc->'parsed') WHEN 'object' THEN doc->'parsed' END;
    cut      boolean := coalesce((doc->>'contentTruncated')::boolean, false);
    -- the first 200 characters of the reply (else the text), on one line
    preview  text := left(btrim(regexp_replace(coalesce(doc->'parsed'->>'reply', doc->'parsed'->>'text'),
                                               '\s+', ' ', 'g')), 200);
    evtype   text;
BEGIN
    IF doc->>'sender' IS NOT NULL THEN
        targets := targets || jsonb_build_array(jsonb_build_object(
            'inbox', doc->'sender', 'addresses', doc->'senderRecipients', 'direction', 'outbound'));
    END IF;
    FOR r IN SELECT * FROM jsonb_array_elements(coalesce(doc->'recipients', '[]')) LOOP
        targets := targets || jsonb_build_array(r || '{"direction": "inbound"}'::jsonb);
    END LOOP;

    FOR r IN SELECT t.value FROM jsonb_array_elements(targets) WITH ORDINALITY AS t(value, n)
              ORDER BY t.value->>'inbox', t.n LOOP
        SELECT * INTO ib FROM postinbox.inbox WHERE id = (r->>'inbox')::uuid;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'record_message: inbox % vanished', r->>'inbox';
        END IF;
        dir := r->>'direction';
        rcpts := ARRAY(SELECT jsonb_array_elements_text(coalesce(r->'addresses', '[]')));
        tid := postinbox.thread_attach(ib.id, doc->>'messageId', refs, doc->>'subject', people);
        INSERT INTO postinbox.message (inbox_id, thread_id, direction, queue_id,
                message_id_header, in_reply_to, references_header, reference_ids, envelope_from,
                envelope_to, from_header, to_header, cc_header, subject, size, status,
                report, content_truncated, text_body, html_body, reply_text, attachments, parse_defects,
                preview)
        VALUES (ib.id, tid, dir, doc->>'queueId', doc->>'messageId', doc->>'inReplyTo',
                doc->>'references', refs, doc->>'envelopeFrom', rcpts, doc->>'from',
                doc->>'to', doc->>'cc', doc->>'subject', (doc->>'size')::integer,
                CASE dir WHEN 'outbound' THEN 'sent' ELSE 'received' END,
                CASE dir WHEN 'inbound' THEN report END,
                dir = 'inbound' AND cut,
                CASE dir WHEN 'inbound' THEN parsed->>'text' END,
                CASE dir WHEN 'inbound' THEN parsed->>'html' END,
                CASE dir WHEN 'inbound' THEN parsed->>'reply' END,
                CASE dir WHEN 'inbound' THEN parsed->'attachments' END,
                CASE dir WHEN 'inbound' THEN (parsed->>'defects')::integer END,
                CASE dir WHEN 'inbound' THEN preview END)
        RETURNING id INTO mid;

        evtype := NULL;
        IF dir = 'inbound' AND report IS NOT NULL THEN
            evtype := CASE report->>'kind'
                WHEN 'arf' THEN postinbox.report_apply_arf(ib, mid, report, doc->'policy')
                ELSE postinbox.report_apply_dsn(ib, mid, report, doc->'policy') END;
        END IF;
        IF evtype IS NULL THEN
            INSERT INTO postinbox.event (inbox_id, message_id, type, payload)
            VALUES (ib.id, mid,
                    CASE dir WHEN 'outbound' THEN 'message.sent' ELSE 'message.received' END,
                    jsonb_build_object(
                        'inboxId', ib.id, 'address', ib.address, 'messageId', mid,
                        'threadId', tid, 'queueId', doc->>'queueId',
                        'direction', dir, 'messageIdHeader', doc->>'messageId',
                        'inReplyTo', doc->>'inReplyTo', 'references', doc->>'references',
                        'from', doc->>'from', 'to', doc->>'to', 'cc', doc->>'cc',
                        'subject', doc->>'subject', 'size', (doc->>'size')::integer,
                        'envelopeFrom', doc->>'envelopeFrom', 'recipients', to_jsonb(rcpts))
                    || CASE WHEN dir = 'inbound' AND report IS NOT NULL
                            THEN jsonb_build_object('report', jsonb_build_object(
                                     'kind', report->>'kind', 'style', report->>'style', 'duplicate', true))
                            ELSE '{}' END);
        END IF;
        IF dir = 'inbound' AND parsed IS NOT NULL THEN
            INSERT INTO postinbox.event (inbox_id, message_id, type, payload)
            VALUES (ib.id, mid, 'message.parsed', jsonb_build_object(
                'inboxId', ib.id, 'address', ib.address, 'messageId', mid, 'threadId', tid,
                'messageIdHeader', doc->>'messageId', 'subject', doc->>'subject', 'from', doc->>'from',
                'contentTruncated', cut) || parsed);
        END IF;

        IF dir = 'outbound' THEN
            UPDATE postinbox.inbox SET total_sent = total_sent + cardinality(rcpts),
                   updated_at = now()
             WHERE id = ib.id;
        END IF;
        ids := ids || to_jsonb(mid);
    END LOOP;
    RETURN jsonb_build_object('messages', ids);
END $$;
