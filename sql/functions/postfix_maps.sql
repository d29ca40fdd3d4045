-- postfix_maps.sql -- what Postfix's own lookup tables read from
-- postinbox's tables (Debian's postfix-pgsql), so that a new verified
-- domain or login grant needs no edit of Postfix and no reload:
-- contrib/postfix/pgsql-domains.cf (relay_domains or
-- virtual_mailbox_domains) and contrib/postfix/pgsql-sender-logins.cf
-- (smtpd_sender_login_maps with reject_sender_login_mismatch).
--
-- Postfix connects as a role of its own that may call these two
-- functions and nothing else (grant_postfix_maps, from postinboxctl
-- migrate when postfix_maps_role is set): they run as their owner
-- (SECURITY DEFINER, search_path pinned), so that role reads no table,
-- no message, no key.  Postfix quotes %s for a string literal
-- (PQescapeStringConn); the functions take it as one text argument.
--
-- A definition file (sql/functions/): one definition per function,
-- re-applied by `postinboxctl migrate` when the file changes.
--
-- Functions: postfix_domain(name), postfix_sender_logins(address),
-- grant_postfix_maps(role).

SET LOCAL search_path = postinbox, pg_catalog, public;

-- The domain (any case, a final dot allowed) when Postfix is to accept
-- mail for it: the sandbox domain or a verified custom domain (a
-- failing one too: a DNS hiccup must not stop its mail); NULL
-- otherwise, which Postfix reads as "not found".
CREATE OR REPLACE FUNCTION postfix_domain(p_name text)
RETURNS text LANGUAGE sql STABLE SECURITY DEFINER SET search_path = postinbox, pg_catalog AS $$
    SELECT d.name FROM postinbox.domain d
     WHERE lower(d.name) = lower(rtrim(p_name, '.')) AND (d.kind = 'sandbox' OR d.verified)
$$;

-- The SASL logins that may send as the inbox p_address (comma-separated,
-- as Postfix's smtpd_sender_login_maps takes them), NULL when no login
-- may (no such inbox, or none granted).  An inbox of any status: the
-- milter decides about the status; this says who owns the address.
CREATE OR REPLACE FUNCTION postfix_sender_logins(p_address text)
RETURNS text LANGUAGE sql STABLE SECURITY DEFINER SET search_path = postinbox, pg_catalog AS $$
    SELECT string_agg(g.login, ',' ORDER BY g.login)
      FROM postinbox.inbox i JOIN postinbox.login_grant g ON g.inbox_id = i.id
     WHERE lower(i.address) = lower(p_address)
    HAVING count(*) > 0
$$;

-- Gives p_role what Postfix's tables need: the schema and these two
-- functions, nothing else.
CREATE OR REPLACE FUNCTION grant_postfix_maps(p_role text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA postinbox TO %I', p_role);
    EXECUTE format('GRANT EXECUTE ON FUNCTION postinbox.postfix_domain(text), '
                   'postinbox.postfix_sender_logins(text) TO %I', p_role);
END
$$;
REVOKE EXECUTE ON FUNCTION postfix_domain(text), postfix_sender_logins(text), grant_postfix_maps(text) FROM PUBLIC;
