-- 010_status_by.sql -- who set an inbox's status: the operator
-- (postinboxctl), the policy (automatic suspension on bounce or
-- complaint rates, sql/functions/suppression.sql) or the tenant (the HTTP
-- API with an account key).  A tenant may not change a status the
-- operator or the policy set while it is not active
-- (sql/functions/admin.sql, inbox_set_status).
--
-- Existing inboxes take the actor of their last status change from the
-- audit: "postinbox" is the policy, "api:..." a tenant, anything else (or
-- no audit row) the operator -- a status of unknown origin stays with the
-- operator, never with the tenant.
--
-- The admin functions change their results, so the old definitions are
-- dropped here; sql/functions/admin.sql creates the new ones right after.

SET LOCAL search_path = postinbox, pg_catalog, public;

ALTER TABLE inbox ADD COLUMN status_by text CHECK (status_by IN ('operator', 'policy', 'tenant'));

UPDATE inbox i
   SET status_by = CASE WHEN a.actor = 'postinbox' THEN 'policy'
                        WHEN a.actor LIKE 'api:%' THEN 'tenant'
                        ELSE 'operator' END
  FROM (SELECT i2.id,
               (SELECT au.actor FROM audit au
                 WHERE au.inbox_id = i2.id AND au.action = 'status'
                 ORDER BY au.created_at DESC, au.id DESC LIMIT 1) AS actor
          FROM inbox i2) a
 WHERE a.id = i.id AND i.status <> 'active';

DROP FUNCTION IF EXISTS inbox_set_status(uuid, text, text, text, uuid);
DROP FUNCTION IF EXISTS inbox_update(uuid, uuid, boolean, text, boolean, text[], text, text, text);
DROP FUNCTION IF EXISTS inbox_purge(uuid, uuid, text);
