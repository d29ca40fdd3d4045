-- domain.sql -- what a DNS check of a custom domain changes
-- (sql/migrations/016_domain_check.sql): postinboxctl domain verify, POST
-- /v1/domains/{id}/verify and postinbox-policyd's periodic re-check all
-- end here, so the three cannot disagree.
--
-- A definition file (sql/functions/): one definition per function,
-- re-applied by `postinboxctl migrate` when the file changes
-- (docs/ARCHITECTURE.md, "The SQL layout").
--
-- Functions: domain_check_apply.

SET LOCAL search_path = postinbox, pg_catalog, public;

-- The outcome of one check of the domain p_name (of p_account; NULL: the
-- operator, any account, and the sandbox domain, whose check is only
-- kept).  p_passed: the required records (ownership,
-- SPF, the active DKIM key) were all valid; p_result: what was found,
-- kept in last_check.  In one transaction, under the row's lock:
--   passed   check_failures 0, next check after p_interval; a pending
--            domain becomes verified (audit row domain.verified, reason
--            p_reason); a domain that was pending or failing gets the
--            event domain.verified (recovered: whether it was failing)
--   failed   check_failures + 1, next check after p_retry doubled per
--            failure in a row, at most p_interval; a verified domain
--            that reaches p_failures failures in a row gets dns_failed_at
--            and the event domain.dns_failed, once until it recovers.  It
--            stays verified: a DNS hiccup must not stop its mail.
-- Events of a domain belong to its account (event.account_id) and go to
-- the account-wide webhook endpoints.  known is false when there is no
-- such domain for p_account.
CREATE OR REPLACE FUNCTION domain_check_apply(p_name text, p_account uuid, p_passed boolean, p_result jsonb,
                                              p_actor text, p_reason text, p_interval interval,
                                              p_retry interval, p_failures integer,
                                              OUT known boolean, OUT was_verified boolean,
                                              OUT verified boolean, OUT failures integer, OUT event text)
LANGUAGE plpgsql AS $$
DECLARE
    d postinbox.domain;
BEGIN
    SELECT * INTO d FROM postinbox.domain
     WHERE name = lower(p_name) AND (p_account IS NULL OR account_id = p_account)
       FOR UPDATE;
    known := FOUND;
    IF NOT known THEN
        RETURN;
    END IF;
    IF d.kind = 'sandbox' THEN
        -- the operator's own domain: always ours; what was found is kept,
        -- nothing is scheduled or sent
        was_verified := true;
        verified := true;
        failures := 0;
        UPDATE postinbox.domain SET checked_at = now(), last_check = p_result WHERE id = d.id;
        RETURN;
    END IF;
    was_verified := d.verified;
    verified := d.verified OR p_passed;
    failures := CASE WHEN p_passed THEN 0 ELSE d.check_failures + 1 END;
    IF p_passed AND (NOT d.verified OR d.dns_failed_at IS NOT NULL) THEN
        event := 'domain.verified';
    ELSIF NOT p_passed AND d.verified AND d.dns_failed_at IS NULL AND failures >= p_failures THEN
        event := 'domain.dns_failed';
    END IF;
    UPDATE postinbox.domain
       SET verified = domain_check_apply.verified,
           checked_at = now(),
           last_check = p_result,
           check_failures = failures,
           dns_failed_at = CASE WHEN p_passed THEN NULL
                                WHEN event = 'domain.dns_failed' THEN now()
                                ELSE d.dns_failed_at END,
           next_check_at = now() + CASE WHEN p_passed THEN p_interval
                                        ELSE least(p_interval, p_retry * power(2, least(failures - 1, 20))) END
     WHERE id = d.id;
    IF NOT d.verified AND p_passed THEN
        INSERT INTO postinbox.audit (actor, action, new_value, reason)
        VALUES (p_actor, 'domain.verified', d.name, p_reason);
    END IF;
    IF event IS NOT NULL THEN
        INSERT INTO postinbox.event (account_id, type, payload)
        VALUES (d.account_id, event, jsonb_build_object(
            'domainId', d.id, 'domain', d.name, 'accountId', d.account_id,
            'status', CASE WHEN event = 'domain.verified' THEN 'verified' ELSE 'failing' END,
            'recovered', event = 'domain.verified' AND d.dns_failed_at IS NOT NULL,
            'failures', failures,
            'records', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                    'purpose', r->'purpose', 'name', r->'name', 'type', r->'type',
                                    'status', r->'status', 'required', r->'required'))
                                   FROM jsonb_array_elements(p_result->'records') r), '[]'::jsonb)));
    END IF;
END
$$;
