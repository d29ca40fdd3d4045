-- 001_schema.sql -- the postinbox data model (see docs/ARCHITECTURE.md).
--
-- Everything lives in schema "postinbox".  Every table that grows
-- (message, event, audit) carries inbox_id so it can later be partitioned
-- or distributed by inbox.  Addresses and domain names are unique
-- case-insensitively; they are stored lower-cased by the functions and by
-- postinboxctl, and the unique indexes are on lower() all the same.
--
-- Applied by `postinboxctl migrate` inside one transaction.

CREATE SCHEMA IF NOT EXISTS postinbox;
SET LOCAL search_path = postinbox, pg_catalog, public;

-- An account owns domains and inboxes.  short_id appears in sandbox
-- addresses ({username}--{short_id}@{sandbox_domain}); daily_send_limit is
-- the plan limit that custom-domain inboxes inherit.
CREATE TABLE account (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    short_id         text NOT NULL UNIQUE
                     CHECK (short_id ~ '^[a-z0-9]{2,32}$'),
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    daily_send_limit integer NOT NULL DEFAULT 25000 CHECK (daily_send_limit > 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- A domain is either the shared sandbox domain (account_id NULL) or a
-- custom domain of one account.  Only verified custom domains are
-- "managed": mail to unknown addresses there is refused.
CREATE TABLE domain (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id  uuid REFERENCES account(id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (name = lower(name) AND length(name) BETWEEN 1 AND 253),
    kind        text NOT NULL CHECK (kind IN ('sandbox', 'custom')),
    verified    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'sandbox') = (account_id IS NULL))
);
CREATE UNIQUE INDEX domain_name_key ON domain (lower(name));

-- An inbox.  daily_send_limit and burst_limit are NULL unless set
-- explicitly; the effective limits are derived by inbox_limits() so that a
-- change of the account's plan reaches every custom-domain inbox.
CREATE TABLE inbox (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id       uuid NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    domain_id        uuid NOT NULL REFERENCES domain(id),
    username         text NOT NULL,
    address          text NOT NULL CHECK (address = lower(address) AND length(address) <= 254),
    display_name     text,
    labels           text[] NOT NULL DEFAULT '{}',
    status           text NOT NULL DEFAULT 'active'
                     CHECK (status IN ('active', 'suspended', 'disabled')),
    status_reason    text,
    daily_send_limit integer CHECK (daily_send_limit > 0),
    burst_limit      integer CHECK (burst_limit > 0),
    total_sent       bigint NOT NULL DEFAULT 0,
    bounce_count     integer NOT NULL DEFAULT 0,
    complaint_count  integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX inbox_address_key ON inbox (lower(address));
CREATE INDEX inbox_account_idx ON inbox (account_id, created_at);

-- Which SASL login (as Postfix reports it in {auth_authen}) may send as
-- which inbox.  The inbox's own address is not implied.
CREATE TABLE login_grant (
    login       text NOT NULL CHECK (login = lower(login) AND length(login) BETWEEN 1 AND 320),
    inbox_id    uuid NOT NULL REFERENCES inbox(id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (login, inbox_id)
);
CREATE INDEX login_grant_inbox_idx ON login_grant (inbox_id);

-- A conversation inside one inbox.  Threads never span inboxes.
CREATE TABLE thread (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    inbox_id        uuid NOT NULL REFERENCES inbox(id) ON DELETE CASCADE,
    subject         text,
    message_count   integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_message_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX thread_inbox_idx ON thread (inbox_id, last_message_at);

-- One row per inbox involved in a message: the sender inbox gets an
-- outbound row, each recipient inbox an inbound row.  Two inboxes never
-- share a row.
CREATE TABLE message (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    inbox_id          uuid NOT NULL REFERENCES inbox(id) ON DELETE CASCADE,
    thread_id         uuid NOT NULL REFERENCES thread(id) ON DELETE CASCADE,
    direction         text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    queue_id          text NOT NULL,
    message_id_header text,
    in_reply_to       text,
    references_header text,
    envelope_from     text NOT NULL,
    envelope_to       text[] NOT NULL,
    from_header       text,
    to_header         text,
    cc_header         text,
    subject           text,
    size              integer NOT NULL CHECK (size >= 0),
    preview           text,
    status            text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX message_inbox_idx ON message (inbox_id, created_at);
CREATE INDEX message_queue_idx ON message (queue_id);
CREATE INDEX message_msgid_idx ON message (inbox_id, message_id_header);

-- Events; id is the webhook-id of every webhook call made for it.
CREATE TABLE event (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    inbox_id    uuid NOT NULL REFERENCES inbox(id) ON DELETE CASCADE,
    message_id  uuid REFERENCES message(id) ON DELETE CASCADE,
    type        text NOT NULL CHECK (type ~ '^(message|inbox)\.[a-z]+$'),
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_inbox_idx ON event (inbox_id, created_at);

-- Every status change, with who did it and why.
CREATE TABLE audit (
    id          bigserial PRIMARY KEY,
    inbox_id    uuid REFERENCES inbox(id) ON DELETE SET NULL,
    actor       text NOT NULL,
    action      text NOT NULL,
    old_value   text,
    new_value   text,
    reason      text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_inbox_idx ON audit (inbox_id, created_at);

-- Effective limits of an inbox: an explicit value wins; otherwise sandbox
-- inboxes get 250/day, custom-domain inboxes the account's plan limit,
-- and every inbox a burst of 25 per 60 s.
CREATE FUNCTION inbox_limits(i inbox, OUT daily integer, OUT burst integer)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(i.daily_send_limit,
                    CASE d.kind WHEN 'sandbox' THEN 250 ELSE a.daily_send_limit END),
           coalesce(i.burst_limit, 25)
      FROM postinbox.domain d, postinbox.account a
     WHERE d.id = i.domain_id AND a.id = i.account_id
$$;

-- lookup(address, login): the one query the milter makes per address.
-- Always returns one row.  managed says whether the address's domain is
-- ours (a verified custom domain, or the sandbox domain); the inbox_*
-- columns are NULL when no inbox has the address; granted says whether
-- login may send as that inbox (NULL when login is NULL).  A single
-- SELECT in a set-returning SQL function, so PostgreSQL inlines it into
-- the caller's (prepared) statement: no per-call function planning.
-- The limits are spelled out here rather than through inbox_limits() for
-- the same reason; keep the two in step.
CREATE FUNCTION lookup(addr text, login text DEFAULT NULL)
RETURNS TABLE (managed boolean, inbox_id uuid, inbox_address text, status text,
               daily_limit integer, burst_limit integer, granted boolean)
LANGUAGE sql STABLE AS $$
    SELECT d.id IS NOT NULL OR i.id IS NOT NULL,
           i.id, i.address, i.status,
           coalesce(i.daily_send_limit,
                    CASE di.kind WHEN 'sandbox' THEN 250 ELSE a.daily_send_limit END),
           coalesce(i.burst_limit, 25),
           -- $2, not "login": inside the subquery that name is the column.
           CASE WHEN $2 IS NULL THEN NULL
                ELSE EXISTS (SELECT 1 FROM postinbox.login_grant g
                              WHERE g.login = lower($2) AND g.inbox_id = i.id) END
      FROM (SELECT 1) AS one
      LEFT JOIN postinbox.inbox i ON lower(i.address) = lower($1)
      LEFT JOIN postinbox.domain di ON di.id = i.domain_id
      LEFT JOIN postinbox.account a ON a.id = i.account_id
      LEFT JOIN postinbox.domain d ON lower(d.name) = lower(split_part($1, '@', -1))
                                   AND (d.kind = 'sandbox' OR d.verified)
$$;

-- Finds or creates the thread of a new message in one inbox: the thread of
-- the message it replies to (In-Reply-To first, then References from the
-- newest back), else a new thread.
CREATE FUNCTION thread_for(p_inbox uuid, p_in_reply_to text, p_references text, p_subject text)
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
    t uuid;
    refs text[];
BEGIN
    IF p_in_reply_to IS NOT NULL THEN
        SELECT m.thread_id INTO t FROM postinbox.message m
         WHERE m.inbox_id = p_inbox AND m.message_id_header = p_in_reply_to LIMIT 1;
    END IF;
    IF t IS NULL AND p_references IS NOT NULL THEN
        refs := regexp_split_to_array(trim(p_references), '\s+');
        FOR i IN REVERSE coalesce(array_length(refs, 1), 0) .. 1 LOOP
            SELECT m.thread_id INTO t FROM postinbox.message m
             WHERE m.inbox_id = p_inbox AND m.message_id_header = refs[i] LIMIT 1;
            EXIT WHEN t IS NOT NULL;
        END LOOP;
    END IF;
    IF t IS NULL THEN
        INSERT INTO postinbox.thread (inbox_id, subject, message_count)
        VALUES (p_inbox, p_subject, 1)
        RETURNING id INTO t;
    ELSE
        UPDATE postinbox.thread SET message_count = message_count + 1, last_message_at = now()
         WHERE id = t;
    END IF;
    RETURN t;
END $$;

-- record_message(doc): writes everything the milter knows at end of
-- message in the caller's single statement, so it is all or nothing.
-- doc: {queueId, envelopeFrom, messageId, inReplyTo, references, from, to,
--       cc, subject, size, sender: inbox uuid or null,
--       senderRecipients: [address...] (the accepted recipients charged to
--       the sender), recipients: [{inbox: uuid, addresses: [..]}]}
-- Returns {"messages": [uuid...]}.
CREATE FUNCTION record_message(doc jsonb) RETURNS jsonb
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
BEGIN
    IF doc->>'sender' IS NOT NULL THEN
        targets := targets || jsonb_build_array(jsonb_build_object(
            'inbox', doc->'sender', 'addresses', doc->'senderRecipients', 'direction', 'outbound'));
    END IF;
    FOR r IN SELECT * FROM jsonb_array_elements(coalesce(doc->'recipients', '[]')) LOOP
        targets := targets || jsonb_build_array(r || '{"direction": "inbound"}'::jsonb);
    END LOOP;

    FOR r IN SELECT * FROM jsonb_array_elements(targets) LOOP
        SELECT * INTO ib FROM postinbox.inbox WHERE id = (r->>'inbox')::uuid;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'record_message: inbox % vanished', r->>'inbox';
        END IF;
        dir := r->>'direction';
        rcpts := ARRAY(SELECT jsonb_array_elements_text(coalesce(r->'addresses', '[]')));
        tid := postinbox.thread_for(ib.id, doc->>'inReplyTo', doc->>'references', doc->>'subject');
        INSERT INTO postinbox.message (inbox_id, thread_id, direction, queue_id,
                message_id_header, in_reply_to, references_header, envelope_from,
                envelope_to, from_header, to_header, cc_header, subject, size, status)
        VALUES (ib.id, tid, dir, doc->>'queueId', doc->>'messageId', doc->>'inReplyTo',
                doc->>'references', doc->>'envelopeFrom', rcpts, doc->>'from',
                doc->>'to', doc->>'cc', doc->>'subject', (doc->>'size')::integer,
                CASE dir WHEN 'outbound' THEN 'sent' ELSE 'received' END)
        RETURNING id INTO mid;

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
                    'envelopeFrom', doc->>'envelopeFrom', 'recipients', to_jsonb(rcpts)));

        IF dir = 'outbound' THEN
            UPDATE postinbox.inbox SET total_sent = total_sent + cardinality(rcpts),
                   updated_at = now()
             WHERE id = ib.id;
        END IF;
        ids := ids || to_jsonb(mid);
    END LOOP;
    RETURN jsonb_build_object('messages', ids);
END $$;
