-- dkim.sql -- the DKIM keys of a domain (sql/migrations/015_dkim.sql):
-- the milter's one query for a domain's signing key, and the one state
-- transition of a rotation.
--
-- A definition file (sql/functions/): each function here has this one
-- definition, re-applied by `postinboxctl migrate` when the file changes
-- (docs/ARCHITECTURE.md, "The SQL layout").
--
-- Functions: dkim_signing_key(domain), dkim_key_activate(domain_id,
-- selector, keep).

SET LOCAL search_path = postinbox, pg_catalog, public;

-- The key a domain signs with: its active key's id (the sealed value's
-- context), selector, algorithm and sealed private key; no row when the
-- domain has none.  verified says whether the domain is verified (or the
-- sandbox); found whether the domain exists at all.
CREATE OR REPLACE FUNCTION dkim_signing_key(p_domain text)
RETURNS TABLE (found boolean, verified boolean, id uuid, selector text, algorithm text, private_key text)
LANGUAGE sql STABLE AS $$
    SELECT true, d.kind = 'sandbox' OR d.verified, k.id, k.selector, k.algorithm, k.private_key
      FROM postinbox.domain d
      LEFT JOIN postinbox.dkim_key k ON k.domain_id = d.id AND k.state = 'active'
     WHERE d.name = lower(p_domain)
$$;

-- Makes the domain's key p_selector the active one: the key active until
-- now is retired and stays published for p_keep.  A retired key may come
-- back (a rotation undone).  Returns the selector retired, NULL when
-- there was none; raises no_data_found when the domain has no such key.
CREATE OR REPLACE FUNCTION dkim_key_activate(p_domain_id uuid, p_selector text, p_keep interval)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_old text;
BEGIN
    PERFORM 1 FROM postinbox.dkim_key WHERE domain_id = p_domain_id AND selector = p_selector FOR UPDATE;
    IF NOT FOUND THEN
        RAISE no_data_found USING MESSAGE = format('no DKIM key %s', p_selector);
    END IF;
    UPDATE postinbox.dkim_key SET state = 'retired', retire_after = now() + p_keep
     WHERE domain_id = p_domain_id AND state = 'active' AND selector <> p_selector
    RETURNING selector INTO v_old;
    UPDATE postinbox.dkim_key
       SET state = 'active', activated_at = coalesce(activated_at, now()), retire_after = NULL
     WHERE domain_id = p_domain_id AND selector = p_selector;
    RETURN v_old;
END
$$;
