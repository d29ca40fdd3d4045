-- 009_schema_definition.sql -- which definition files (sql/functions/)
-- the database holds, by the SHA-256 of each file's text.
--
-- `postinboxctl migrate` applies the pending migrations, then every
-- definition file whose hash differs from the one recorded here (or all
-- of them when a migration ran), and records the new hashes, in the same
-- transaction.  A database migrated before the definitions moved out of
-- the migrations (versions 1-8 applied, this table missing) gets every
-- file once: each replaces the function of the same name and signature
-- that the old migrations left.

SET LOCAL search_path = postinbox, pg_catalog, public;

CREATE TABLE schema_definition (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z0-9_]+$'),  -- "record" for sql/functions/record.sql
    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    applied_at  timestamptz NOT NULL DEFAULT now()
);
