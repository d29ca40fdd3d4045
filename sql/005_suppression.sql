-- 005_suppression.sql -- per-inbox suppression lists and automatic
-- suspension (issue 4).  (004 is another migration's number.)
--
-- Suppression: a recipient that hard-bounced (Postfix status=bounced, not
-- expired), complained (an ARF report), or that an admin added by hand
-- (postinboxctl suppression add) is on the suppression list of the inbox
-- that sent to it; the milter refuses that inbox's later sends to it at
-- RCPT (reply_rcpt_suppressed, 550 5.1.1), before any reservation, so the
-- refused recipient costs nothing.  lookup() tells the milter whether an
-- inbox has any suppressions at all, so only those senders pay for the
-- second query (lib/store.c store_suppressed).  An address stays on the
-- list until `postinboxctl suppression remove`.
--
-- Suspension: check_suspension() looks at an inbox's rates over a rolling
-- window after every hard bounce and every complaint.  The thresholds are
-- not in the database: they are postinbox.conf's suspend_* keys, which
-- the callers pass as a policy document (lib/suspend.c renders it):
--   {"bounceRate": 0.1, "complaintRate": 0.005, "windowSeconds": 86400,
--    "minSends": 100}
-- A rate of 0 switches that criterion off; a NULL policy skips the check.
--   sends      = recipients of the inbox's outbound messages created in
--                the window (what the daily cap counts as sends);
--   bounces    = its message_recipient rows that hard-bounced in the
--                window (updated_at: a final state never changes again);
--   complaints = its message_recipient rows with complained_at in the
--                window.
-- The window starts no earlier than the inbox's last reactivation (an
-- audit row status -> active), so an inbox an admin reactivated is judged
-- on what it sends from then on, not suspended again by its old bounces.
-- When sends >= minSends and a rate reaches its threshold, an active
-- inbox becomes suspended: status_reason, an audit row (actor
-- 'postinbox') and an inbox.suspended event, in the caller's
-- transaction.  Reactivation is manual (postinboxctl inbox activate).

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

-- lookup() gains "suppressions": whether the inbox has any suppression
-- rows (one probe of the primary key).  Otherwise as in 001_schema.sql,
-- whose comment applies: keep it a single SELECT so it is inlined.
DROP FUNCTION lookup(text, text);
CREATE FUNCTION lookup(addr text, login text DEFAULT NULL)
RETURNS TABLE (managed boolean, inbox_id uuid, inbox_address text, status text,
               daily_limit integer, burst_limit integer, granted boolean, suppressions boolean)
LANGUAGE sql STABLE AS $$
    SELECT d.id IS NOT NULL OR i.id IS NOT NULL,
           i.id, i.address, i.status,
           coalesce(i.daily_send_limit,
                    CASE di.kind WHEN 'sandbox' THEN 250 ELSE a.daily_send_limit END),
           coalesce(i.burst_limit, 25),
           -- $2, not "login": inside the subquery that name is the column.
           CASE WHEN $2 IS NULL THEN NULL
                ELSE EXISTS (SELECT 1 FROM postinbox.login_grant g
                              WHERE g.login = lower($2) AND g.inbox_id = i.id) END,
           EXISTS (SELECT 1 FROM postinbox.suppression s WHERE s.inbox_id = i.id)
      FROM (SELECT 1) AS one
      LEFT JOIN postinbox.inbox i ON lower(i.address) = lower($1)
      LEFT JOIN postinbox.domain di ON di.id = i.domain_id
      LEFT JOIN postinbox.account a ON a.id = i.account_id
      LEFT JOIN postinbox.domain d ON lower(d.name) = lower(split_part($1, '@', -1))
                                   AND (d.kind = 'sandbox' OR d.verified)
$$;

-- check_suspension(inbox, policy): suspends the inbox when its rates
-- pass the policy (see the top of this file).  Returns true if it
-- suspended it now; false otherwise (below the thresholds or minSends,
-- not active, or no policy).  Locks the inbox row before changing it, so
-- two concurrent callers suspend once.  Raises an exception for a policy
-- that lacks a key.
CREATE FUNCTION check_suspension(p_inbox uuid, p_policy jsonb) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    brate     numeric;
    crate     numeric;
    win       integer;
    min_sends integer;
    since     timestamptz;
    nsends    bigint;
    nb        bigint;
    nc        bigint;
    ib        postinbox.inbox;
    span      text;
    why       text;
BEGIN
    IF p_policy IS NULL THEN
        RETURN false;
    END IF;
    brate := (p_policy->>'bounceRate')::numeric;
    crate := (p_policy->>'complaintRate')::numeric;
    win := (p_policy->>'windowSeconds')::integer;
    min_sends := (p_policy->>'minSends')::integer;
    IF brate IS NULL OR crate IS NULL OR win IS NULL OR min_sends IS NULL THEN
        RAISE EXCEPTION 'check_suspension: policy % lacks bounceRate, complaintRate, windowSeconds or minSends',
            p_policy;
    END IF;
    IF brate <= 0 AND crate <= 0 THEN
        RETURN false;
    END IF;
    SELECT * INTO ib FROM postinbox.inbox WHERE id = p_inbox;
    IF NOT FOUND OR ib.status <> 'active' THEN
        RETURN false;
    END IF;

    since := greatest(now() - make_interval(secs => win),
                      (SELECT max(created_at) FROM postinbox.audit
                        WHERE inbox_id = p_inbox AND action = 'status' AND new_value = 'active'));
    SELECT count(*) INTO nb FROM postinbox.message_recipient
     WHERE inbox_id = p_inbox AND state = 'bounced' AND updated_at >= since;
    SELECT count(*) INTO nc FROM postinbox.message_recipient
     WHERE inbox_id = p_inbox AND complained_at >= since;
    -- With sends >= minSends no rate exceeds count / minSends: below
    -- that, the (larger) count of sends is not needed.
    IF (brate <= 0 OR nb < brate * min_sends) AND (crate <= 0 OR nc < crate * min_sends) THEN
        RETURN false;
    END IF;
    SELECT coalesce(sum(cardinality(envelope_to)), 0) INTO nsends FROM postinbox.message
     WHERE inbox_id = p_inbox AND direction = 'outbound' AND created_at >= since;
    IF nsends < min_sends OR nsends = 0 THEN
        RETURN false;
    END IF;

    span := CASE WHEN win % 3600 = 0 THEN (win / 3600) || 'h'
                 WHEN win % 60 = 0 THEN (win / 60) || 'm'
                 ELSE win || 's' END;
    IF brate > 0 AND nb >= brate * nsends THEN
        why := format('bounce rate %s%% (%s of %s sends in %s) >= %s%%',
                      to_char(nb * 100.0 / nsends, 'FM990.099'), nb, nsends, span,
                      to_char(brate * 100, 'FM990.0999'));
    ELSIF crate > 0 AND nc >= crate * nsends THEN
        why := format('complaint rate %s%% (%s of %s sends in %s) >= %s%%',
                      to_char(nc * 100.0 / nsends, 'FM990.099'), nc, nsends, span,
                      to_char(crate * 100, 'FM990.0999'));
    ELSE
        RETURN false;
    END IF;

    -- Concurrent callers queue here; the second sees 'suspended'.
    SELECT * INTO ib FROM postinbox.inbox WHERE id = p_inbox FOR UPDATE;
    IF ib.status <> 'active' THEN
        RETURN false;
    END IF;
    UPDATE postinbox.inbox SET status = 'suspended', status_reason = why, updated_at = now()
     WHERE id = p_inbox;
    INSERT INTO postinbox.audit (inbox_id, actor, action, old_value, new_value, reason)
    VALUES (p_inbox, 'postinbox', 'status', ib.status, 'suspended', why);
    INSERT INTO postinbox.event (inbox_id, type, payload)
    VALUES (p_inbox, 'inbox.suspended', jsonb_build_object(
        'inboxId', p_inbox, 'address', ib.address, 'status', 'suspended', 'reason', why,
        'bounceRate', round(nb::numeric / nsends, 4)::float8,
        'complaintRate', round(nc::numeric / nsends, 4)::float8,
        'sends', nsends, 'bounces', nb, 'complaints', nc, 'window', win));
    RETURN true;
END $$;

-- delivery_apply: as in 003_delivery_status.sql (same arguments, same
-- result), plus p_policy: a hard bounce (status bounced; not expired,
-- which says nothing about the address) also puts the recipient on the
-- sender inbox's suppression list -- unless it is there already, whatever
-- the source -- and then runs check_suspension(inbox, p_policy).
-- One more transition than 003: a recipient the next hop accepted
-- ('delivered' in the log) may bounce later, by a DSN that hop mails
-- back (an asynchronous bounce, read by the milter, sql/006): delivered
-- -> bounced or expired is applied.  Every other final state stays final.
DROP FUNCTION delivery_apply(message, text, text, text, text, text, double precision, boolean);
CREATE FUNCTION delivery_apply(m message, p_addr text, p_status text, p_dsn text, p_diagnostic text,
                               p_relay text, p_delay double precision, p_every_deferral boolean,
                               p_policy jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    r       postinbox.message_recipient;
    st      text;
    announce boolean := true;
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
    IF st = 'deferred' AND FOUND THEN
        IF p_delay IS NULL OR (r.last_delay IS NOT NULL AND p_delay <= r.last_delay) THEN
            RETURN NULL;                               -- this retry was counted already
        END IF;
        announce := p_every_deferral;
    END IF;
    INSERT INTO postinbox.message_recipient AS x (message_id, inbox_id, address, state, dsn, diagnostic,
                                                  relay, deferrals, last_delay)
    VALUES (m.id, m.inbox_id, p_addr, st, p_dsn, p_diagnostic, p_relay,
            CASE st WHEN 'deferred' THEN 1 ELSE 0 END, p_delay)
    ON CONFLICT (message_id, address) DO UPDATE
       SET state = EXCLUDED.state, dsn = EXCLUDED.dsn, diagnostic = EXCLUDED.diagnostic,
           relay = EXCLUDED.relay, deferrals = x.deferrals + EXCLUDED.deferrals,
           last_delay = coalesce(EXCLUDED.last_delay, x.last_delay), updated_at = now();
    IF st = 'bounced' THEN
        UPDATE postinbox.inbox SET bounce_count = bounce_count + 1, updated_at = now() WHERE id = m.inbox_id;
        INSERT INTO postinbox.suppression (inbox_id, address, source, reason, dsn, message_id)
        VALUES (m.inbox_id, p_addr, 'bounce', p_diagnostic, p_dsn, m.id)
        ON CONFLICT (inbox_id, address) DO NOTHING;
        PERFORM postinbox.check_suspension(m.inbox_id, p_policy);
    END IF;
    IF NOT announce THEN
        RETURN NULL;
    END IF;
    RETURN jsonb_build_object(
        'address', p_addr, 'status', p_dsn,
        'action', CASE st WHEN 'delivered' THEN 'delivered' WHEN 'deferred' THEN 'delayed' ELSE 'failed' END,
        'diagnostic', p_diagnostic,
        'type', CASE st WHEN 'bounced' THEN 'hard' WHEN 'delivered' THEN NULL ELSE 'soft' END);
END $$;

-- The status of outbound message m from its recipients' states: delivered,
-- bounced, partially_bounced, deferred, partially_delivered or sent.
CREATE FUNCTION message_refresh_status(m message) RETURNS void
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

-- record_delivery: as in 003_delivery_status.sql, plus p_policy (the
-- suspension policy, passed to delivery_apply); the message status via
-- message_refresh_status().
DROP FUNCTION record_delivery(text, text, text, text, text, text, text, double precision, boolean);
CREATE FUNCTION record_delivery(p_queue_id text, p_to text, p_orig_to text, p_status text, p_dsn text,
                                p_diagnostic text, p_relay text, p_delay double precision,
                                p_every_deferral boolean, p_policy jsonb)
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
                                                p_policy);
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
                                        p_every_deferral, p_policy);
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

-- complaint_apply(m, addr, feedback_type, policy): one complaint (an ARF
-- report, RFC 5965) by recipient p_addr about the OUTBOUND message m.
-- For the inbound report path, which finds m (e.g. by the report's
-- Message-ID) and writes the message.complained event itself, as
-- record_delivery does for delivery_apply.  In one transaction:
--   - marks message_recipient.complained_at, once per (message,
--     recipient); a recipient without a row gets one in state
--     'delivered' (a complaint proves delivery);
--   - inbox.complaint_count + 1;
--   - puts the recipient on the inbox's suppression list (source
--     'complaint', reason "complaint (FEEDBACK-TYPE)") unless it is
--     there already;
--   - check_suspension(m.inbox_id, p_policy).
-- Returns true when the complaint is new; false when this recipient had
-- already complained about this message (nothing changes); NULL when m
-- is not outbound or p_addr (compared lower-cased) is not among its
-- envelope recipients (nothing changes).
CREATE FUNCTION complaint_apply(m message, p_addr text, p_feedback_type text, p_policy jsonb)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    addr text := lower(p_addr);
BEGIN
    IF m.direction <> 'outbound' OR NOT addr = ANY (ARRAY(SELECT lower(e) FROM unnest(m.envelope_to) e)) THEN
        RETURN NULL;
    END IF;
    -- One statement, so two reports arriving at once count once.
    INSERT INTO postinbox.message_recipient AS x (message_id, inbox_id, address, state, complained_at)
    VALUES (m.id, m.inbox_id, addr, 'delivered', now())
    ON CONFLICT (message_id, address) DO UPDATE SET complained_at = EXCLUDED.complained_at
     WHERE x.complained_at IS NULL;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    UPDATE postinbox.inbox SET complaint_count = complaint_count + 1, updated_at = now() WHERE id = m.inbox_id;
    INSERT INTO postinbox.suppression (inbox_id, address, source, reason, message_id)
    VALUES (m.inbox_id, addr, 'complaint',
            'complaint' || coalesce(' (' || nullif(p_feedback_type, '') || ')', ''), m.id)
    ON CONFLICT (inbox_id, address) DO NOTHING;
    PERFORM postinbox.check_suspension(m.inbox_id, p_policy);
    RETURN true;
END $$;
