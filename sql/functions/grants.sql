-- grants.sql -- what the daemons' PostgreSQL role may do.
--
-- A production install keeps two roles: the schema owner, which
-- `postinboxctl migrate` connects as (migration_database), and the
-- runtime role the daemons and the other postinboxctl commands connect
-- as (database).  After migrating, postinboxctl calls grant_runtime()
-- for the runtime role: it may read and write the rows and call the
-- functions, and nothing else -- no DDL (it owns nothing), no writes to
-- the migration bookkeeping, no TRUNCATE.  Granted again on every
-- migrate, so tables added by later migrations are covered.
--
-- A definition file (sql/functions/): one definition per function,
-- re-applied by `postinboxctl migrate` when the file changes.
--
-- Functions: grant_runtime().

SET LOCAL search_path = postinbox, pg_catalog, public;

CREATE OR REPLACE FUNCTION grant_runtime(p_role text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA postinbox TO %I', p_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA postinbox TO %I', p_role);
    EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA postinbox TO %I', p_role);
    EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA postinbox TO %I', p_role);
    EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON postinbox.schema_migration, postinbox.schema_definition FROM %I',
                   p_role);
    EXECUTE format('REVOKE EXECUTE ON FUNCTION postinbox.grant_runtime(text) FROM %I', p_role);
    EXECUTE format('REVOKE EXECUTE ON FUNCTION postinbox.grant_postfix_maps(text) FROM %I', p_role);
    REVOKE EXECUTE ON FUNCTION postinbox.grant_runtime(text) FROM PUBLIC;
END
$$;
