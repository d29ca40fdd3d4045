-- suppression.sql -- per-inbox suppression lists and automatic
-- suspension (issue 4).  Tables: sql/migrations/005_suppression.sql.
--
-- Suppression: a recipient that hard-bounced (Postfix status=bounced, not
-- expired), complained (an ARF report), or that an admin added by hand
-- (postinboxctl suppression add) is on the suppression list of the inbox
-- that sent to it; the milter refuses that inbox's later sends to it at
-- RCPT (reply_rcpt_suppressed, 550 5.1.1), before any reservation, so the
-- refused recipient costs nothing.  lookup() tells the milter whether an
-- inbox has any suppressions at all, so only those senders pay for the
-- second query (lib/store/store.c store_suppressed).  An address stays on the
-- list until `postinboxctl suppression remove`.
--
-- Suspension: check_suspension() looks at an inbox's rates over a rolling
-- window after every permanent bounce, every refusal that blames the
-- sender and every complaint.  The thresholds are not in the database:
-- they are postinbox.conf's suspend_* keys, which the callers pass as a
-- policy document (lib/core/suspend.c renders it):
--   {"bounceRate": 0.1, "complaintRate": 0.005, "blockRate": 0.2,
--    "blockWarnRate": 0.05, "windowSeconds": 86400, "minSends": 100}
-- A rate of 0 switches that criterion off (blockRate and blockWarnRate
-- may be left out: 0); a NULL policy skips the check.
--   sends      = recipients of the inbox's outbound messages created in
--                the window (what the daily cap counts as sends);
--   bounces    = its message_recipient rows that bounced permanently in
--                the window (bounce_type permanent; rows from before
--                013_bounce_reason.sql, which has no type, were all hard
--                bounces; updated_at: a final state never changes again);
--   blocks     = its message_recipient rows that failed (bounced or
--                expired) with sender_problem in the window: refusals of
--                this sender or this message (blocked IP or reputation,
--                spam or content, policy, authentication, missing PTR),
--                which say the *sender* has a problem, not the address;
--   complaints = its message_recipient rows with complained_at in the
--                window.
-- The window starts no earlier than the inbox's last reactivation (an
-- audit row status -> active), so an inbox an admin reactivated is judged
-- on what it sends from then on, not suspended again by its old bounces.
-- When sends >= minSends and the bounce, complaint or block rate reaches
-- its threshold, an active inbox becomes suspended: status_reason, an
-- audit row (actor 'postinbox') and an inbox.suspended event, in the
-- caller's transaction.  Reactivation is manual (postinboxctl inbox
-- activate).  Below that, a block rate that reaches blockWarnRate writes
-- one inbox.reputation_warning event (at most one per inbox within the
-- window): the agent's mail is being refused as unwanted, before it costs
-- the inbox.

-- A definition file (sql/functions/): one definition per function,
-- re-applied by `postinboxctl migrate` when the file changes
-- (docs/ARCHITECTURE.md, "The SQL layout").
--
-- Functions: check_suspension(), complaint_apply().

SET LOCAL search_path = postinbox, pg_catalog, public;

-- check_suspension(inbox, policy): suspends the inbox when its rates
-- pass the policy, or warns (inbox.reputation_warning) when its block
-- rate passes blockWarnRate (see the top of this file).  Returns true if
-- it suspended it now; false otherwise (below the thresholds or minSends,
-- only warned, not active, or no policy).  Locks the inbox row before
-- changing it, so two concurrent callers suspend (or warn) once.  Raises
-- an exception for a policy that lacks a key.
CREATE OR REPLACE FUNCTION check_suspension(p_inbox uuid, p_policy jsonb) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    brate     numeric;
    crate     numeric;
    krate     numeric;
    wrate     numeric;
    win       integer;
    min_sends integer;
    since     timestamptz;
    nsends    bigint;
    nb        bigint;
    nc        bigint;
    nk        bigint;
    ib        postinbox.inbox;
    span      text;
    why       text;
BEGIN
    IF p_policy IS NULL THEN
        RETURN false;
    END IF;
    -- Rates are whole parts per million (postinbox.conf); a document that
    -- went through a JSON library may spell 0.2 as 0.20000000000000001,
    -- which must not make 2 of 10 fall short of 20%.
    brate := round((p_policy->>'bounceRate')::numeric, 6);
    crate := round((p_policy->>'complaintRate')::numeric, 6);
    krate := coalesce(round((p_policy->>'blockRate')::numeric, 6), 0);
    wrate := coalesce(round((p_policy->>'blockWarnRate')::numeric, 6), 0);
    win := (p_policy->>'windowSeconds')::integer;
    min_sends := (p_policy->>'minSends')::integer;
    IF brate IS NULL OR crate IS NULL OR win IS NULL OR min_sends IS NULL THEN
        RAISE EXCEPTION 'check_suspension: policy % lacks bounceRate, complaintRate, windowSeconds or minSends',
            p_policy;
    END IF;
    IF brate <= 0 AND crate <= 0 AND krate <= 0 AND wrate <= 0 THEN
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
     WHERE inbox_id = p_inbox AND state = 'bounced' AND coalesce(bounce_type, 'permanent') = 'permanent'
       AND updated_at >= since;
    SELECT count(*) INTO nk FROM postinbox.message_recipient
     WHERE inbox_id = p_inbox AND sender_problem AND state IN ('bounced', 'expired') AND updated_at >= since;
    SELECT count(*) INTO nc FROM postinbox.message_recipient
     WHERE inbox_id = p_inbox AND complained_at >= since;
    -- With sends >= minSends no rate exceeds count / minSends: below
    -- that, the (larger) count of sends is not needed.
    IF (brate <= 0 OR nb < brate * min_sends) AND (crate <= 0 OR nc < crate * min_sends)
       AND (krate <= 0 OR nk < krate * min_sends) AND (wrate <= 0 OR nk < wrate * min_sends) THEN
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
    ELSIF krate > 0 AND nk >= krate * nsends THEN
        why := format('block rate %s%% (%s of %s sends refused as the sender''s problem in %s) >= %s%%',
                      to_char(nk * 100.0 / nsends, 'FM990.099'), nk, nsends, span,
                      to_char(krate * 100, 'FM990.0999'));
    ELSIF wrate > 0 AND nk >= wrate * nsends THEN
        -- A warning, once per window: concurrent callers queue on the row lock.
        PERFORM 1 FROM postinbox.inbox WHERE id = p_inbox FOR UPDATE;
        IF EXISTS (SELECT 1 FROM postinbox.event WHERE inbox_id = p_inbox AND type = 'inbox.reputation_warning'
                      AND created_at >= since) THEN
            RETURN false;
        END IF;
        INSERT INTO postinbox.event (inbox_id, type, payload)
        VALUES (p_inbox, 'inbox.reputation_warning', jsonb_build_object(
            'inboxId', p_inbox, 'address', ib.address,
            'reason', format('block rate %s%% (%s of %s sends refused as the sender''s problem in %s) >= %s%%',
                             to_char(nk * 100.0 / nsends, 'FM990.099'), nk, nsends, span,
                             to_char(wrate * 100, 'FM990.0999')),
            'blockRate', round(nk::numeric / nsends, 4)::float8, 'warnRate', wrate::float8,
            'suspendRate', CASE WHEN krate > 0 THEN krate::float8 END,
            'sends', nsends, 'blocks', nk, 'window', win,
            'reasons', (SELECT jsonb_object_agg(r, n) FROM (
                            SELECT coalesce(bounce_reason, 'undetermined') AS r, count(*) AS n
                              FROM postinbox.message_recipient
                             WHERE inbox_id = p_inbox AND sender_problem AND state IN ('bounced', 'expired')
                               AND updated_at >= since
                             GROUP BY 1) x)));
        RETURN false;
    ELSE
        RETURN false;
    END IF;

    -- Concurrent callers queue here; the second sees 'suspended'.
    SELECT * INTO ib FROM postinbox.inbox WHERE id = p_inbox FOR UPDATE;
    IF ib.status <> 'active' THEN
        RETURN false;
    END IF;
    UPDATE postinbox.inbox SET status = 'suspended', status_reason = why, status_by = 'policy', updated_at = now()
     WHERE id = p_inbox;
    INSERT INTO postinbox.audit (inbox_id, actor, action, old_value, new_value, reason)
    VALUES (p_inbox, 'postinbox', 'status', ib.status, 'suspended', why);
    INSERT INTO postinbox.event (inbox_id, type, payload)
    VALUES (p_inbox, 'inbox.suspended', jsonb_build_object(
        'inboxId', p_inbox, 'address', ib.address, 'status', 'suspended', 'reason', why,
        'bounceRate', round(nb::numeric / nsends, 4)::float8,
        'complaintRate', round(nc::numeric / nsends, 4)::float8,
        'blockRate', round(nk::numeric / nsends, 4)::float8,
        'sends', nsends, 'bounces', nb, 'complaints', nc, 'blocks', nk, 'window', win));
    RETURN true;
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
CREATE OR REPLACE FUNCTION complaint_apply(m message, p_addr text, p_feedback_type text, p_policy jsonb)
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
    ON CONFLICT (inbox_id, address) DO UPDATE   -- an expired hand-made entry gives way
       SET source = EXCLUDED.source, reason = EXCLUDED.reason, dsn = NULL, message_id = EXCLUDED.message_id,
           bounce_reason = NULL, expires_at = NULL, created_at = now()
     WHERE suppression.expires_at IS NOT NULL AND suppression.expires_at <= now();
    PERFORM postinbox.check_suspension(m.inbox_id, p_policy);
    RETURN true;
END $$;
