-- tracking.sql -- opens, clicks and one-click unsubscribe (issue 14).
-- Tables: sql/migrations/017_tracking.sql.
--
-- The settings: an inbox's tracking object overrides its account's key
-- by key; what neither says is off.  The milter reads the result as
-- lookup()'s tracking bit mask (1 opens, 2 clicks, 4 unsubscribe); inbox
-- objects show it as "tracking".  Both are in lookup.sql
-- (tracking_mask(), tracking_effective()), which lookup() needs defined
-- before it; this file changes them (tracking_merge()).
--
-- The requests: postinbox-policyd's tracking listener checks a token's
-- MAC itself (the key never reaches the database), with the URL or
-- recipient tracking_find() gives it, then calls tracking_hit() or
-- tracking_unsubscribe(), each one statement, which count the request and
-- decide whether it is an event.  A message of a purged inbox is gone
-- with it: tracking_find() finds nothing and the listener answers 404.
--
-- A definition file (sql/functions/): each function here has this one
-- definition, re-applied by `postinboxctl migrate` when the file changes
-- (docs/ARCHITECTURE.md, "The SQL layout").

SET LOCAL search_path = postinbox, pg_catalog, public;

-- A settings object changed by p_change, whose keys the caller checked
-- (opens, clicks, unsubscribe; a boolean, or null to remove the key).
CREATE OR REPLACE FUNCTION tracking_merge(p_old jsonb, p_change jsonb)
RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (p_old || jsonb_strip_nulls(p_change))
           - ARRAY(SELECT k FROM jsonb_each(p_change) AS e(k, v) WHERE jsonb_typeof(v) = 'null')
$$;

-- Changes an inbox's override (of p_account's inboxes; NULL: any, the
-- operator), with its audit row.  inbox_found false: no such inbox.
CREATE OR REPLACE FUNCTION inbox_tracking_set(p_id uuid, p_account uuid, p_change jsonb, p_actor text,
                                              OUT inbox_found boolean)
LANGUAGE plpgsql AS $$
DECLARE
    old_value jsonb;
    new_value jsonb;
BEGIN
    SELECT i.tracking INTO old_value FROM postinbox.inbox i
     WHERE i.id = p_id AND (p_account IS NULL OR i.account_id = p_account) FOR UPDATE;
    inbox_found := old_value IS NOT NULL;
    IF NOT inbox_found THEN
        RETURN;
    END IF;
    new_value := postinbox.tracking_merge(old_value, p_change);
    IF new_value = old_value THEN
        RETURN;
    END IF;
    UPDATE postinbox.inbox SET tracking = new_value, updated_at = now() WHERE id = p_id;
    INSERT INTO postinbox.audit (inbox_id, actor, action, old_value, new_value)
        VALUES (p_id, p_actor, 'tracking', old_value::text, new_value::text);
END $$;

-- Changes an account's settings (the default of its inboxes); what they
-- are after it (every key, false where unset), NULL: no such account.
CREATE OR REPLACE FUNCTION account_tracking_set(p_account uuid, p_change jsonb)
RETURNS jsonb LANGUAGE sql AS $$
    UPDATE postinbox.account SET tracking = postinbox.tracking_merge(tracking, p_change), updated_at = now()
     WHERE id = p_account
    RETURNING postinbox.tracking_effective('{}', tracking)
$$;

-- What a token names: the outbound message with that tracking id, the
-- URL of its link p_link (NULL for 0 or past the end), its only
-- recipient (NULL when it had several: such a message has no
-- List-Unsubscribe), and when it was recorded and first delivered (the
-- listener's scanner window starts there).  No row: no such message
-- (never sent with tracking, or its inbox was purged).
CREATE OR REPLACE FUNCTION tracking_find(p_tid bytea, p_link integer)
RETURNS TABLE (message_id uuid, inbox_id uuid, url text, recipient text, sent_at timestamptz,
               delivered_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT m.id, m.inbox_id,
           CASE WHEN p_link BETWEEN 1 AND coalesce(cardinality(m.links), 0) THEN m.links[p_link] END,
           CASE WHEN cardinality(m.envelope_to) = 1 THEN m.envelope_to[1] END,
           m.created_at,
           (SELECT min(r.updated_at) FROM postinbox.message_recipient r
             WHERE r.message_id = m.id AND r.state = 'delivered')
      FROM postinbox.message m
     WHERE m.tracking_id = p_tid AND m.direction = 'outbound'
$$;

-- The payload common to the engagement events of message m.
CREATE OR REPLACE FUNCTION tracking_payload(m message, p_agent text, p_machine boolean, p_reason text,
                                            p_ip inet)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
               'messageId', m.id, 'inboxId', m.inbox_id, 'threadId', m.thread_id,
               'messageIdHeader', m.message_id_header, 'subject', m.subject,
               'recipients', to_jsonb(m.envelope_to),
               'userAgent', p_agent, 'machine', p_machine, 'machineReason', p_reason,
               'ip', host(p_ip)))
$$;

-- Counts one open (p_kind 'open', p_link 0) or click (p_kind 'click',
-- p_link the link number) of the message with tracking id p_tid, and
-- sends message.opened / message.clicked when it is news:
--   - the first request by a person (p_machine false) is always an event,
--     "first": true, even right after a machine's (so the first real
--     open is reported as such, whatever a prefetcher did before);
--   - a machine's request is an event only when nothing was reported for
--     this row yet ("machine": true, with p_reason);
--   - later requests by people are an event at most once per p_interval
--     seconds (0: never), "first": false;
--   - every other request is only counted: a burst of requests for one
--     token is one event.
-- p_ip is stored (engagement.last_ip and the payload) only when the
-- caller was configured to (tracking_store_ip).  Returns {"event": type
-- or null, "count": requests so far}; NULL when no such message.
CREATE OR REPLACE FUNCTION tracking_hit(p_tid bytea, p_kind text, p_link integer, p_machine boolean,
                                        p_reason text, p_agent text, p_ip inet, p_interval integer)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    m postinbox.message;
    e postinbox.engagement;
    first boolean;
    report boolean;
    etype text := CASE p_kind WHEN 'open' THEN 'message.opened' ELSE 'message.clicked' END;
BEGIN
    SELECT * INTO m FROM postinbox.message WHERE tracking_id = p_tid AND direction = 'outbound';
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    INSERT INTO postinbox.engagement (message_id, inbox_id, kind, link)
        VALUES (m.id, m.inbox_id, p_kind, p_link) ON CONFLICT DO NOTHING;
    SELECT * INTO e FROM postinbox.engagement
     WHERE message_id = m.id AND kind = p_kind AND link = p_link FOR UPDATE;
    first := NOT p_machine AND e.first_human_at IS NULL;
    report := first
           OR (p_machine AND e.reported_at IS NULL)
           OR (NOT p_machine AND p_interval > 0
               AND e.reported_at < now() - make_interval(secs => p_interval));
    UPDATE postinbox.engagement
       SET count = count + 1, machine_count = machine_count + CASE WHEN p_machine THEN 1 ELSE 0 END,
           last_at = now(), first_human_at = CASE WHEN first THEN now() ELSE first_human_at END,
           reported_at = CASE WHEN report THEN now() ELSE reported_at END,
           last_ip = coalesce(p_ip, last_ip)
     WHERE message_id = m.id AND kind = p_kind AND link = p_link;
    IF report THEN
        INSERT INTO postinbox.event (inbox_id, message_id, type, payload)
            VALUES (m.inbox_id, m.id, etype,
                    postinbox.tracking_payload(m, p_agent, p_machine, p_reason, p_ip)
                    || jsonb_build_object('first', first, 'count', e.count + 1,
                                          'machineCount', e.machine_count + CASE WHEN p_machine THEN 1 ELSE 0 END)
                    || CASE p_kind WHEN 'click' THEN jsonb_build_object('link', p_link, 'url', m.links[p_link])
                                   ELSE '{}' END);
    END IF;
    RETURN jsonb_build_object('event', CASE WHEN report THEN etype END, 'count', e.count + 1);
END $$;

-- A one-click unsubscribe (RFC 8058) of the only recipient of the
-- message with tracking id p_tid: the recipient goes on the sender
-- inbox's suppression list (source unsubscribe; an entry already there,
-- whatever its source, is left as it is) and message.unsubscribed is
-- sent the first time.  Returns {"address": ..., "suppressed": true when
-- this request added the entry}; NULL when no such message or it had
-- several recipients.
CREATE OR REPLACE FUNCTION tracking_unsubscribe(p_tid bytea, p_agent text, p_ip inet)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    m postinbox.message;
    added boolean;
BEGIN
    SELECT * INTO m FROM postinbox.message WHERE tracking_id = p_tid AND direction = 'outbound';
    IF NOT FOUND OR cardinality(m.envelope_to) <> 1 THEN
        RETURN NULL;
    END IF;
    INSERT INTO postinbox.suppression (inbox_id, address, source, reason, message_id)
        VALUES (m.inbox_id, lower(m.envelope_to[1]), 'unsubscribe', 'List-Unsubscribe one-click', m.id)
        ON CONFLICT DO NOTHING;
    added := FOUND;
    INSERT INTO postinbox.engagement AS g (message_id, inbox_id, kind, link, count, last_ip)
        VALUES (m.id, m.inbox_id, 'unsubscribe', 0, 1, p_ip)
        ON CONFLICT (message_id, kind, link)
        DO UPDATE SET count = g.count + 1, last_at = now(), last_ip = coalesce(EXCLUDED.last_ip, g.last_ip);
    IF added THEN
        INSERT INTO postinbox.event (inbox_id, message_id, type, payload)
            VALUES (m.inbox_id, m.id, 'message.unsubscribed',
                    postinbox.tracking_payload(m, p_agent, false, NULL, p_ip)
                    || jsonb_build_object('address', lower(m.envelope_to[1]), 'method', 'one-click'));
    END IF;
    RETURN jsonb_build_object('address', lower(m.envelope_to[1]), 'suppressed', added);
END $$;
