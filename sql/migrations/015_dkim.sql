-- 015_dkim.sql -- DKIM key pairs per domain (issue 13): the milter signs
-- outbound mail from an inbox with its domain's active key.
--
--   dkim_key.selector      the s= of the signature and the DNS name
--                          SELECTOR._domainkey.DOMAIN
--   dkim_key.algorithm     rsa-sha256 (ed25519-sha256 reserved)
--   dkim_key.public_key    base64 of the SubjectPublicKeyInfo DER: the p=
--                          of the TXT record
--   dkim_key.private_key   the PKCS#8 PEM sealed by lib/net/secretbox under
--                          secret_key_file, with the row's id as context
--                          ("v1:<key id>:<base64>"); never plaintext
--   dkim_key.state         pending: made by a rotation, published, not yet
--                          signing; active: the one key a domain signs
--                          with (at most one per domain); retired: no
--                          longer signing, kept published until
--                          retire_after so mail signed with it verifies
--   dkim_key.activated_at  when it became active
--   dkim_key.retire_after  retired keys: when the record may go
--
--   domain.verification_token   the value of the ownership record
--                          _postinbox.DOMAIN TXT "postinbox-verification=TOKEN"
--                          that `postinboxctl domain records` prints (32 hex
--                          digits, random, one per domain; existing domains
--                          get theirs here)
--
-- The transitions are sql/functions/dkim.sql's (dkim_key_activate).
-- Deleting a domain deletes its keys.

SET LOCAL search_path = postinbox, pg_catalog, public;

ALTER TABLE domain ADD COLUMN verification_token text NOT NULL
    DEFAULT replace(gen_random_uuid()::text, '-', '') CHECK (verification_token ~ '^[0-9a-f]{32}$');

CREATE TABLE dkim_key (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    domain_id     uuid NOT NULL REFERENCES domain(id) ON DELETE CASCADE,
    selector      text NOT NULL CHECK (selector ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    algorithm     text NOT NULL DEFAULT 'rsa-sha256' CHECK (algorithm IN ('rsa-sha256', 'ed25519-sha256')),
    public_key    text NOT NULL CHECK (public_key ~ '^[A-Za-z0-9+/]+=*$'),
    private_key   text NOT NULL CHECK (private_key LIKE 'v1:%'),
    state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'active', 'retired')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    activated_at  timestamptz,
    retire_after  timestamptz,
    CHECK ((state = 'pending') = (activated_at IS NULL)),
    CHECK ((state = 'retired') = (retire_after IS NOT NULL))
);
CREATE UNIQUE INDEX dkim_key_selector_key ON dkim_key (domain_id, selector);
CREATE UNIQUE INDEX dkim_key_one_active ON dkim_key (domain_id) WHERE state = 'active';
