-- lookup.sql -- what is known about one address: the milter's and the
-- policy service's one query per address, and the effective limits of an
-- inbox (postinboxctl and the API show them).
--
-- A definition file (sql/functions/): each function here has this one
-- definition, re-applied by `postinboxctl migrate` when the file changes
-- (docs/ARCHITECTURE.md, "The SQL layout").
--
-- Functions: inbox_daily_limit(), inbox_burst_limit() (the defaults,
-- defined only here), inbox_limits(inbox), tracking_effective(),
-- tracking_mask() (the tracking settings, sql/functions/tracking.sql),
-- lookup(address, login).

SET LOCAL search_path = postinbox, pg_catalog, public;

-- lookup() had no "suppressions" column before 005, no "domain_failing"
-- before 016 and no "tracking" before 017: CREATE OR REPLACE cannot change
-- the columns of a function, so an older one is dropped first.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_proc
                WHERE oid = to_regprocedure('postinbox.lookup(text, text)')
                  AND NOT 'tracking' = ANY (proargnames)) THEN
        DROP FUNCTION postinbox.lookup(text, text);
    END IF;
END $$;

-- The effective daily limit: an explicit value on the inbox wins;
-- otherwise 250 on the sandbox domain and the account's plan limit on a
-- custom domain.  A single expression, so PostgreSQL inlines it into
-- lookup()'s statement.
CREATE OR REPLACE FUNCTION inbox_daily_limit(p_inbox_limit integer, p_domain_kind text, p_account_limit integer)
RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(p_inbox_limit, CASE p_domain_kind WHEN 'sandbox' THEN 250 ELSE p_account_limit END)
$$;

-- The effective burst limit (sends per 60 s): an explicit value wins,
-- else 25.  Inlined as inbox_daily_limit().
CREATE OR REPLACE FUNCTION inbox_burst_limit(p_inbox_limit integer)
RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(p_inbox_limit, 25)
$$;

-- Effective limits of an inbox (the columns of inbox objects).
CREATE OR REPLACE FUNCTION inbox_limits(i inbox, OUT daily integer, OUT burst integer)
LANGUAGE sql STABLE AS $$
    SELECT postinbox.inbox_daily_limit(i.daily_send_limit, d.kind, a.daily_send_limit),
           postinbox.inbox_burst_limit(i.burst_limit)
      FROM postinbox.domain d, postinbox.account a
     WHERE d.id = i.domain_id AND a.id = i.account_id
$$;

-- {"opens": bool, "clicks": bool, "unsubscribe": bool}: the inbox's key,
-- else the account's, else false.
CREATE OR REPLACE FUNCTION tracking_effective(p_inbox jsonb, p_account jsonb)
RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_object(
               'opens', coalesce((p_inbox->>'opens')::boolean, (p_account->>'opens')::boolean, false),
               'clicks', coalesce((p_inbox->>'clicks')::boolean, (p_account->>'clicks')::boolean, false),
               'unsubscribe', coalesce((p_inbox->>'unsubscribe')::boolean,
                                       (p_account->>'unsubscribe')::boolean, false))
$$;

-- The same as lookup()'s bit mask: 1 opens, 2 clicks, 4 unsubscribe
-- (lib/core/inbox.h INBOX_TRACK_*).  A single expression, inlined.
CREATE OR REPLACE FUNCTION tracking_mask(p_inbox jsonb, p_account jsonb)
RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN coalesce((p_inbox->>'opens')::boolean, (p_account->>'opens')::boolean, false)
                THEN 1 ELSE 0 END
         | CASE WHEN coalesce((p_inbox->>'clicks')::boolean, (p_account->>'clicks')::boolean, false)
                THEN 2 ELSE 0 END
         | CASE WHEN coalesce((p_inbox->>'unsubscribe')::boolean, (p_account->>'unsubscribe')::boolean, false)
                THEN 4 ELSE 0 END
$$;

-- lookup(address, login): the one query the milter makes per address.
-- Always returns one row.  managed says whether the address's domain is
-- ours (a verified custom domain, or the sandbox domain); the inbox_*
-- columns are NULL when no inbox has the address; granted says whether
-- login may send as that inbox (NULL when login is NULL); suppressions
-- whether the inbox has any suppression rows that still suppress (one
-- probe of the primary key; an entry whose expires_at has passed
-- suppresses nothing, sql/migrations/013), so only those senders pay for
-- store_suppressed's query; domain_failing whether the inbox's domain
-- failed its DNS checks (domain.dns_failed_at, sql/migrations/016: the
-- milter holds its outbound mail only with domain_dns_failed = hold);
-- tracking the inbox's tracking settings as tracking_mask()'s bits.  A single
-- SELECT in a set-returning SQL function, so PostgreSQL inlines it into
-- the caller's (prepared) statement: no per-call function planning (and
-- the limit functions above are inlined into it in turn).
CREATE OR REPLACE FUNCTION lookup(addr text, login text DEFAULT NULL)
RETURNS TABLE (managed boolean, inbox_id uuid, inbox_address text, status text,
               daily_limit integer, burst_limit integer, granted boolean, suppressions boolean,
               domain_failing boolean, tracking integer)
LANGUAGE sql STABLE AS $$
    SELECT d.id IS NOT NULL OR i.id IS NOT NULL,
           i.id, i.address, i.status,
           postinbox.inbox_daily_limit(i.daily_send_limit, di.kind, a.daily_send_limit),
           postinbox.inbox_burst_limit(i.burst_limit),
           -- $2, not "login": inside the subquery that name is the column.
           CASE WHEN $2 IS NULL THEN NULL
                ELSE EXISTS (SELECT 1 FROM postinbox.login_grant g
                              WHERE g.login = lower($2) AND g.inbox_id = i.id) END,
           EXISTS (SELECT 1 FROM postinbox.suppression s WHERE s.inbox_id = i.id
                      AND (s.expires_at IS NULL OR s.expires_at > now())),
           di.dns_failed_at IS NOT NULL,
           postinbox.tracking_mask(i.tracking, a.tracking)
      FROM (SELECT 1) AS one
      LEFT JOIN postinbox.inbox i ON lower(i.address) = lower($1)
      LEFT JOIN postinbox.domain di ON di.id = i.domain_id
      LEFT JOIN postinbox.account a ON a.id = i.account_id
      LEFT JOIN postinbox.domain d ON lower(d.name) = lower(split_part($1, '@', -1))
                                   AND (d.kind = 'sandbox' OR d.verified)
$$;
