-- 001_schema.sql -- the postinbox data model (see docs/ARCHITECTURE.md).
--
-- Everything lives in schema "postinbox".  Every table that grows
-- (message, event, audit) carries inbox_id so it can later be partitioned
-- or distributed by inbox.  Addresses and domain names are unique
-- case-insensitively; they are stored lower-cased by the functions and by
-- postinboxctl, and the unique indexes are on lower() all the same.
--
-- A migration (sql/migrations/): tables, indexes, types and data only,
-- append-only once released.  The functions the daemons call are in
-- sql/functions/ (inbox_limits() and lookup() in lookup.sql,
-- record_message() in record.sql).  Applied by `postinboxctl migrate`
-- (docs/ARCHITECTURE.md, "The SQL layout").

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
-- explicitly; the effective limits are derived (inbox_limits(), lookup(),
-- sql/functions/lookup.sql) so that a
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
