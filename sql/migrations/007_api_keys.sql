-- 007_api_keys.sql -- API keys of the HTTP admin API (policyd/api*.c).
--
-- A key is "pik_" + base64url of 32 random bytes (lib/apikey.c); only its
-- SHA-256 (hex) is stored, with the first characters (prefix) to tell
-- keys apart in lists.  An account key (inbox_id NULL) acts on every
-- inbox of its account; an inbox key on its inbox only.  Keys of a purged
-- inbox go with it (ON DELETE CASCADE).  A revoked key stays, for audit.
-- The inbox writes that postinboxctl and the API share are in
-- sql/functions/admin.sql.

SET LOCAL search_path = postinbox, pg_catalog, public;

CREATE TABLE api_key (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id    uuid NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    inbox_id      uuid REFERENCES inbox(id) ON DELETE CASCADE,     -- NULL: account key
    name          text CHECK (length(name) BETWEEN 1 AND 200),
    prefix        text NOT NULL CHECK (length(prefix) BETWEEN 4 AND 16),
    hash          text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
CREATE INDEX api_key_account_idx ON api_key (account_id, created_at);
