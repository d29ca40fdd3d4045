-- admin.sql -- the inbox writes that postinboxctl and the HTTP admin API
-- (policyd/api*.c) share.
--
-- inbox_create(), inbox_set_status(), inbox_update() and inbox_purge()
-- are the one place where an inbox is created or changed: `postinboxctl
-- inbox create|suspend|activate|disable` and POST/PATCH/DELETE
-- /v1/inboxes call them, so both write the same rows, audit rows and
-- events.  Each takes the account the caller may act for (NULL: any,
-- postinboxctl) and checks it in its WHERE clause.
--
-- A definition file (sql/functions/): one definition per function,
-- re-applied by `postinboxctl migrate` when the file changes
-- (docs/ARCHITECTURE.md, "The SQL layout").
--
-- Functions: inbox_create(), inbox_set_status(), inbox_update(),
-- inbox_purge().

SET LOCAL search_path = postinbox, pg_catalog, public;

-- Creates an inbox.  p_domain_id or p_domain_name names a custom domain
-- (it must be a verified custom domain of p_account); both NULL make a
-- sandbox inbox {username}--{shortId}@{p_sandbox}, creating the sandbox
-- domain's row on first use.  result: ok, no_account, no_domain,
-- sandbox_domain (a custom domain was asked for by the sandbox's name),
-- foreign_domain, unverified_domain, sandbox_taken (the sandbox name is a
-- custom domain), local_too_long (over 64 before '@'), too_long (over
-- 254), exists (the address is taken).
CREATE OR REPLACE FUNCTION inbox_create(p_account uuid, p_domain_id uuid, p_domain_name text, p_username text,
                             p_display_name text, p_labels text[], p_daily integer, p_burst integer,
                             p_sandbox text,
                             OUT result text, OUT inbox_id uuid, OUT address text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    acc   postinbox.account;
    dom   postinbox.domain;
    v_address text;
    v_id  uuid;
BEGIN
    SELECT * INTO acc FROM postinbox.account WHERE id = p_account;
    IF NOT FOUND THEN
        result := 'no_account';
        RETURN;
    END IF;
    IF p_domain_id IS NULL AND p_domain_name IS NULL THEN
        -- a concurrent first insert is not visible to ON CONFLICT's
        -- snapshot: the second SELECT sees it
        INSERT INTO postinbox.domain (name, kind, verified) VALUES (lower(p_sandbox), 'sandbox', true)
            ON CONFLICT ((lower(name))) DO NOTHING;
        SELECT * INTO dom FROM postinbox.domain WHERE lower(name) = lower(p_sandbox);
        IF dom.kind <> 'sandbox' THEN
            result := 'sandbox_taken';
            RETURN;
        END IF;
        v_address := lower(p_username) || '--' || acc.short_id || '@' || dom.name;
    ELSE
        SELECT * INTO dom FROM postinbox.domain
         WHERE (p_domain_id IS NOT NULL AND id = p_domain_id)
            OR (p_domain_id IS NULL AND lower(name) = lower(p_domain_name));
        IF NOT FOUND THEN
            result := 'no_domain';
            RETURN;
        END IF;
        IF dom.kind = 'sandbox' THEN
            result := 'sandbox_domain';
            RETURN;
        END IF;
        IF dom.account_id IS DISTINCT FROM p_account THEN
            result := 'foreign_domain';
            RETURN;
        END IF;
        IF NOT dom.verified THEN
            result := 'unverified_domain';
            RETURN;
        END IF;
        v_address := lower(p_username) || '@' || dom.name;
    END IF;
    address := v_address;
    IF position('@' IN v_address) - 1 > 64 THEN
        result := 'local_too_long';
        RETURN;
    END IF;
    IF length(v_address) > 254 THEN
        result := 'too_long';
        RETURN;
    END IF;
    INSERT INTO postinbox.inbox (account_id, domain_id, username, address, display_name, labels,
                                 daily_send_limit, burst_limit)
        VALUES (p_account, dom.id, lower(p_username), v_address, p_display_name,
                ARRAY(SELECT l FROM (SELECT DISTINCT ON (l) l, n
                                       FROM unnest(coalesce(p_labels, '{}')) WITH ORDINALITY AS t(l, n)
                                      ORDER BY l, n) u ORDER BY n),
                p_daily, p_burst)
        ON CONFLICT ((lower(address))) DO NOTHING
        RETURNING id INTO v_id;
    inbox_id := v_id;
    result := CASE WHEN v_id IS NULL THEN 'exists' ELSE 'ok' END;
END
$$;

-- Sets an inbox's status with its audit row and (suspended, disabled)
-- its inbox.* event, atomically, and records who set it (status_by):
-- the operator when p_account is NULL (postinboxctl), else the tenant
-- (the API acting for p_account).  old_status NULL: no such inbox (of
-- p_account, when given); changed false: it had that status already, or
-- the change was refused.  A tenant may not change a status that is not
-- active and that the operator or the policy set (a suspension for
-- abuse, an automatic suspension on bounce or complaint rates): then
-- locked_by says who set it ('operator', 'policy') and locked_reason
-- why, and nothing changes.
CREATE OR REPLACE FUNCTION inbox_set_status(p_id uuid, p_status text, p_reason text, p_actor text, p_account uuid,
                                 OUT old_status text, OUT changed boolean, OUT locked_by text,
                                 OUT locked_reason text)
LANGUAGE plpgsql AS $$
DECLARE
    ib postinbox.inbox;
    v_by text := CASE WHEN p_account IS NULL THEN 'operator' ELSE 'tenant' END;
BEGIN
    changed := false;
    SELECT * INTO ib FROM postinbox.inbox
     WHERE id = p_id AND (p_account IS NULL OR account_id = p_account) FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    old_status := ib.status;
    IF ib.status = p_status THEN
        RETURN;
    END IF;
    IF v_by = 'tenant' AND ib.status <> 'active' AND ib.status_by IN ('operator', 'policy') THEN
        locked_by := ib.status_by;
        locked_reason := ib.status_reason;
        RETURN;
    END IF;
    UPDATE postinbox.inbox SET status = p_status, status_reason = p_reason, status_by = v_by, updated_at = now()
     WHERE id = p_id;
    INSERT INTO postinbox.audit (inbox_id, actor, action, old_value, new_value, reason)
        VALUES (p_id, p_actor, 'status', ib.status, p_status, p_reason);
    IF p_status IN ('suspended', 'disabled') THEN
        INSERT INTO postinbox.event (inbox_id, type, payload)
            VALUES (p_id, 'inbox.' || p_status, jsonb_build_object('inboxId', p_id, 'address', ib.address,
                    'status', p_status, 'reason', p_reason));
    END IF;
    changed := true;
END
$$;

-- PATCH /v1/inboxes/{id}: the status through inbox_set_status(), then
-- the display name and labels (each only when its p_set_* is true), in
-- one transaction.  inbox_found false: no such inbox of p_account.  locked_by
-- set: the status change was refused (see inbox_set_status) and nothing
-- else changed either.
CREATE OR REPLACE FUNCTION inbox_update(p_id uuid, p_account uuid, p_set_display boolean, p_display text,
                             p_set_labels boolean, p_labels text[], p_status text, p_reason text,
                             p_actor text, OUT inbox_found boolean, OUT locked_by text, OUT locked_reason text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM postinbox.inbox WHERE id = p_id AND account_id = p_account FOR UPDATE;
    inbox_found := FOUND;
    IF NOT inbox_found THEN
        RETURN;
    END IF;
    IF p_status IS NOT NULL THEN
        SELECT s.locked_by, s.locked_reason INTO locked_by, locked_reason
          FROM postinbox.inbox_set_status(p_id, p_status, p_reason, p_actor, p_account) s;
        IF locked_by IS NOT NULL THEN
            RETURN;
        END IF;
    END IF;
    IF p_set_display OR p_set_labels THEN
        UPDATE postinbox.inbox SET
               display_name = CASE WHEN p_set_display THEN p_display ELSE display_name END,
               labels = CASE WHEN p_set_labels THEN
                            ARRAY(SELECT l FROM (SELECT DISTINCT ON (l) l, n
                                                   FROM unnest(p_labels) WITH ORDINALITY AS t(l, n)
                                                  ORDER BY l, n) u ORDER BY n)
                        ELSE labels END,
               updated_at = now()
         WHERE id = p_id;
    END IF;
END
$$;

-- DELETE /v1/inboxes/{id}?purge=true: the inbox and all its history
-- (messages, threads, events, webhooks, deliveries, suppressions, login
-- grants and keys go by ON DELETE CASCADE).  The audit row is written
-- first, naming the inbox; the delete then sets its inbox_id NULL, so
-- old_value keeps the id and address.  inbox_found false: no such inbox of
-- p_account.  An inbox the operator or the policy suspended or disabled
-- is not purged by its tenant (locked_by, locked_reason as in
-- inbox_set_status): the history is the evidence, and a purge would free
-- the address for a fresh inbox without the suspension.
CREATE OR REPLACE FUNCTION inbox_purge(p_id uuid, p_account uuid, p_actor text, OUT inbox_found boolean,
                            OUT locked_by text, OUT locked_reason text)
LANGUAGE plpgsql AS $$
DECLARE
    ib postinbox.inbox;
BEGIN
    SELECT * INTO ib FROM postinbox.inbox WHERE id = p_id AND account_id = p_account FOR UPDATE;
    inbox_found := FOUND;
    IF NOT inbox_found THEN
        RETURN;
    END IF;
    IF ib.status <> 'active' AND ib.status_by IN ('operator', 'policy') THEN
        locked_by := ib.status_by;
        locked_reason := ib.status_reason;
        RETURN;
    END IF;
    INSERT INTO postinbox.audit (inbox_id, actor, action, old_value)
        VALUES (p_id, p_actor, 'inbox.purge',
                jsonb_build_object('inboxId', ib.id, 'address', ib.address, 'accountId', ib.account_id,
                                   'status', ib.status)::text);
    DELETE FROM postinbox.inbox WHERE id = p_id;
END
$$;
