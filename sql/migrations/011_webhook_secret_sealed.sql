-- 011_webhook_secret_sealed.sql -- webhook signing secrets encrypted at rest.
--
-- webhook_endpoint.secret and previous_secret hold either a secret sealed
-- by lib/net/secretbox.c with the key of secret_key_file
-- ("v1:<key id>:<base64 of nonce, AES-256-GCM ciphertext, tag>", the
-- endpoint id bound as additional data), or, in rows written before this
-- version, the plaintext whsec_ secret.  Nothing here rewrites those rows:
-- the key lives only in a file the daemons read, never in the database;
-- `postinboxctl webhook encrypt-secrets` seals them (and moves values to
-- a new key after a rotation).

SET LOCAL search_path = postinbox, pg_catalog, public;

ALTER TABLE webhook_endpoint
    DROP CONSTRAINT webhook_endpoint_secret_check,
    DROP CONSTRAINT webhook_endpoint_previous_secret_check,
    ADD CONSTRAINT webhook_endpoint_secret_check CHECK (secret ~ '^(whsec_|v1:[0-9a-f]{8}:)'),
    ADD CONSTRAINT webhook_endpoint_previous_secret_check
        CHECK (previous_secret ~ '^(whsec_|v1:[0-9a-f]{8}:)');

COMMENT ON COLUMN webhook_endpoint.secret IS
    'signing secret: v1:<key id>:<base64> sealed with secret_key_file (AES-256-GCM, endpoint id as AAD), '
    'or a plaintext whsec_ secret of an older install until postinboxctl webhook encrypt-secrets';
COMMENT ON COLUMN webhook_endpoint.previous_secret IS
    'the secret before the last rotation, stored as secret is; used until previous_secret_expires_at';
