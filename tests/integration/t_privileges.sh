#!/usr/bin/env bash
# t_privileges.sh -- the install every test runs on, seen from outside:
# the daemons' PostgreSQL role (postinbox_app) reads and writes rows and
# calls functions but changes no schema, touches no migration bookkeeping
# and cannot grant itself more; postinboxctl migrate runs as the schema
# owner (migration_database) and grants the runtime role; no password
# reaches a log; an unprivileged local user (nobody) cannot read the
# config or the secrets, cannot log in to PostgreSQL as any role without
# a password, and gets nothing from the socket as the superuser.
set -u
. "$(dirname "$0")/common.sh"
pi_init --policyd
API_PORT=$(_svc_pick_ports 1) || exit 1
pi_setup --policyd "api_listen = 127.0.0.1:$API_PORT"
PSQL=$(_svc_pg_bindir)/psql

# as ROLE SQL: SQL as ROLE over TCP (password from the harness's PGPASSFILE); stdout+stderr.
as() { "$PSQL" -At -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$1" -d postinbox -c "$2" 2>&1; }

# --- the runtime role works: the whole fixture ran on it ------------------------
t_match "the daemons connect as the runtime role" "user=postinbox_app" "$(grep '^database = ' "$PI_CONF")"
t_match "migrate connects as the schema owner" "user=postinbox_owner" "$(grep '^migration_database = ' "$PI_CONF")"
t_eq "the schema belongs to the owner, not to the runtime role" "postinbox_owner" \
    "$(svc_psql "SELECT nspowner::regrole FROM pg_namespace WHERE nspname = 'postinbox'")"
A=$(pi_account "Acme" acme)
read -r _ BOB <<<"$(pi_inbox "$A" bob)"
t_match "postinboxctl's writes run as the runtime role" "^bob--acme@" "$BOB"
t_match "mail is recorded through the runtime role" "^250 " \
    "$(smtp_send --from ext@remote.test --to "$BOB" --header "Subject: hi")"
t_eq "the row is there" 1 "$(svc_psql "SELECT count(*) FROM postinbox.message m JOIN postinbox.inbox i ON i.id = m.inbox_id WHERE i.address = '$BOB'")"

# --- and can do nothing else --------------------------------------------------
t_match "no DDL: ALTER TABLE" "must be owner" "$(as postinbox_app "ALTER TABLE postinbox.inbox ADD COLUMN x integer")"
t_match "no DDL: DROP TABLE" "must be owner" "$(as postinbox_app "DROP TABLE postinbox.audit")"
t_match "no DDL: CREATE in the schema" "permission denied" "$(as postinbox_app "CREATE TABLE postinbox.mine (x integer)")"
t_match "no DDL: replacing a function" "must be owner|permission denied" \
    "$(as postinbox_app "CREATE OR REPLACE FUNCTION postinbox.thread_subject(p_subject text) RETURNS text LANGUAGE sql AS 'SELECT 1::text'")"
t_match "no TRUNCATE of the audit" "permission denied" "$(as postinbox_app "TRUNCATE postinbox.audit")"
t_match "no writes to the migration bookkeeping" "permission denied" \
    "$(as postinbox_app "DELETE FROM postinbox.schema_migration")"
t_match "cannot grant itself more" "permission denied" "$(as postinbox_app "SELECT postinbox.grant_runtime('postinbox_app')")"
t_match "not a superuser, cannot create roles or databases" "f f f" \
    "$(as postinbox_app "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user" | tr '|' ' ')"
t_eq "migrate again keeps it so" "schema up to date" "$(pi_ctl migrate)"
t_match "still no DDL after it" "must be owner" "$(as postinbox_app "ALTER TABLE postinbox.inbox ADD COLUMN x integer")"

# --- a local user without the secrets -------------------------------------------
echo probe >"$SVC_DIR/probe.public"; chmod 644 "$SVC_DIR/probe.public"
t_eq "(nobody can read a 0644 file next to them: the checks below are about the files' own modes)" "yes" \
    "$(runuser -u nobody -- cat "$SVC_DIR/probe.public" >/dev/null 2>&1 && echo yes || echo no)"
t_eq "the config is closed to other users (0640 or tighter)" "no" \
    "$(runuser -u nobody -- cat "$PI_CONF" >/dev/null 2>&1 && echo yes || echo no)"
for f in "$SVC_DIR/pgpass.app" "$SVC_DIR/pgpass.owner" "$PI_SUBMIT_SECRET"; do
    t_eq "$(basename "$f") is closed to other users" "no" "$(runuser -u nobody -- cat "$f" >/dev/null 2>&1 && echo yes || echo no)"
done
for role in postinbox_app postinbox_owner postgres; do
    t_match "nobody cannot log in as $role without its password" "password authentication failed|no password supplied" \
        "$(runuser -u nobody -- env -u PGPASSFILE PGCONNECT_TIMEOUT=5 "$PSQL" -X -w -h 127.0.0.1 -p "$PG_PORT" -U "$role" -d postinbox -c 'SELECT 1' 2>&1)"
done
t_match "nor as the superuser through the socket" "Peer authentication failed|Permission denied|No such file" \
    "$(runuser -u nobody -- env -u PGPASSFILE "$PSQL" -X -w -h "$PG_SOCKDIR" -p "$PG_PORT" -U postgres -d postinbox -c 'SELECT 1' 2>&1)"

# --- no password in a log -------------------------------------------------------
LOGS=("$(pi_milter_log)" "$SVC_DIR/policyd.log" "$(svc_maillog)" "$SVC_DIR/pg.log")
for pw in $(cut -d: -f5 "$SVC_DIR/pgpass") "$(head -1 "$PI_SUBMIT_SECRET")"; do
    t_eq "a password (${#pw} characters) is in no log" "" "$(grep -lF -- "$pw" "${LOGS[@]}" 2>/dev/null)"
done

t_summary
