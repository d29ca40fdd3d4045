#!/usr/bin/env bash
# test-timeout: 300
# t_postfix_maps.sh -- Postfix's own lookup tables read postinbox's
# tables (contrib/postfix/pgsql-*.cf over Debian's postfix-pgsql, the
# functions of sql/functions/postfix_maps.sql), through the real Postfix:
#   relay_domains: a domain is refused (554 5.7.1 relay access denied)
#   until it is verified, then accepted -- no main.cf edit, no reload;
#   a pending one stays refused; a deleted one is refused again.
#   smtpd_sender_login_maps + reject_sender_login_mismatch: an
#   authenticated login may send as an inbox only once it is granted to
#   it, and not after the grant is revoked -- again without a reload.
#   The role Postfix connects as calls the two functions and reads no
#   table.  Quotes in an address reach PostgreSQL as data.
set -u
here=$(dirname "$0")
. "$here/common.sh"
pi_setup --no-milter
svc_postconf -m 2>/dev/null | grep -qx pgsql || { echo "SKIP: needs postfix-pgsql"; exit 77; }
SMTP=$PI_TESTDIR/smtp_session.py
sess() { python3 "$SMTP" "$SMTP_PORT" "$@"; }
reply() { sess "EHLO client.test" "$@" | tail -n 1 | awk '{print $2}'; }   # the code of the last step

# The role of the Postfix tables: CONNECT on the database, then migrate
# grants the two functions (postfix_maps_role).
PFPW=$(_svc_random_password)
svc_psql "CREATE ROLE postinbox_postfix LOGIN PASSWORD '$PFPW'; GRANT CONNECT ON DATABASE postinbox TO postinbox_postfix" >/dev/null
pi_write_conf "postfix_maps_role = postinbox_postfix"
t_eq "migrate grants the Postfix role" 0 "$(pi_ctl migrate >/dev/null 2>&1; echo $?)"
PF_CONF=$(_SVC_PF_CONF)
for t in domains sender-logins; do
    sed -e "s/^hosts = .*/hosts = inet:127.0.0.1:$PG_PORT/" -e "s/^password = .*/password = $PFPW/" \
        "$PI_SRCDIR/contrib/postfix/pgsql-$t.cf" >"$PF_CONF/postinbox-$t.cf"
    chmod 0640 "$PF_CONF/postinbox-$t.cf"
    chgrp postfix "$PF_CONF/postinbox-$t.cf" 2>/dev/null
done
svc_postconf -e "relay_domains = pgsql:$PF_CONF/postinbox-domains.cf" \
    "smtpd_sender_login_maps = pgsql:$PF_CONF/postinbox-sender-logins.cf" \
    "smtpd_sender_restrictions = reject_sender_login_mismatch" \
    "smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination" \
    "mynetworks = 192.0.2.0/32"
svc_postfix_reload || exit 1
t_eq "postmap -q through the contrib file: an unknown domain is not found" 1 \
    "$(postmap -c "$PF_CONF" -q nope.test "pgsql:$PF_CONF/postinbox-domains.cf" >/dev/null 2>&1; echo $?)"

A=$(pi_account "Maps" maps)
# --- relay_domains ---------------------------------------------------------------------
t_eq "an unknown domain: relay access denied" 554 "$(reply "MAIL FROM:<x@remote.example>" "RCPT TO:<agent@maps.test>")"
pi_ctl domain add --account "$A" --name maps.test >/dev/null
t_eq "a pending domain: still refused" 554 "$(reply "MAIL FROM:<x@remote.example>" "RCPT TO:<agent@maps.test>")"
svc_psql "UPDATE postinbox.domain SET verified = true WHERE name = 'maps.test'" >/dev/null   # as a passed check sets it
# (each check asks for another address: an smtpd keeps the last address
# class trivial-rewrite resolved for it)
t_eq "verified: accepted, no reload" 250 "$(reply "MAIL FROM:<x@remote.example>" "RCPT TO:<agent2@maps.test>")"
t_eq "any case, as Postfix asks" 250 "$(reply "MAIL FROM:<x@remote.example>" "RCPT TO:<agent@MAPS.Test>")"
svc_psql "UPDATE postinbox.domain SET dns_failed_at = now() WHERE name = 'maps.test'" >/dev/null
t_eq "failing DNS: still accepted (a hiccup must not stop mail)" 250 \
    "$(reply "MAIL FROM:<x@remote.example>" "RCPT TO:<agent3@maps.test>")"
pi_ctl domain add --account "$A" --name gone.test --verified >/dev/null
t_eq "another verified domain: accepted" 250 "$(reply "MAIL FROM:<x@remote.example>" "RCPT TO:<a@gone.test>")"
pi_ctl domain delete gone.test >/dev/null
t_eq "deleted: refused again" 554 "$(reply "MAIL FROM:<x@remote.example>" "RCPT TO:<b@gone.test>")"
t_eq "a quote in the domain part: Postfix's syntax check refuses it first" 501 \
    "$(reply "MAIL FROM:<x@remote.example>" "RCPT TO:<\"a'b\"@x'y.test>")"

# --- smtpd_sender_login_maps -------------------------------------------------------------
read -r INB ADDR <<<"$(pi_inbox "$A" agent --domain maps.test)"
AUTH="AUTH alice@example.test secret"
t_eq "not granted: 553 not owned by the login" 553 "$(reply "$AUTH" "MAIL FROM:<$ADDR>" "RCPT TO:<r@remote.example>")"
t_match "... Postfix says why" 'not owned by user alice@example\.test' \
    "$(sess "EHLO client.test" "$AUTH" "MAIL FROM:<$ADDR>" "RCPT TO:<r@remote.example>" | tail -n 1)"
pi_ctl login grant --login alice@example.test --inbox "$ADDR" >/dev/null
t_eq "granted: accepted, no reload" 250 "$(reply "$AUTH" "MAIL FROM:<$ADDR>" "RCPT TO:<r@remote.example>")"
t_eq "granted: not as another login" 553 \
    "$(reply "AUTH mallory@example.test secret" "MAIL FROM:<$ADDR>" "RCPT TO:<r@remote.example>")"
t_eq "the logins Postfix reads" "alice@example.test" \
    "$(postmap -c "$PF_CONF" -q "$ADDR" "pgsql:$PF_CONF/postinbox-sender-logins.cf")"
pi_ctl login grant --login mallory@example.test --inbox "$ADDR" >/dev/null
t_eq "two grants: both logins, one answer" "alice@example.test,mallory@example.test" \
    "$(postmap -c "$PF_CONF" -q "$ADDR" "pgsql:$PF_CONF/postinbox-sender-logins.cf")"
pi_ctl login revoke --login alice@example.test --inbox "$ADDR" >/dev/null
t_eq "revoked: refused again, no reload" 553 "$(reply "$AUTH" "MAIL FROM:<$ADDR>" "RCPT TO:<r@remote.example>")"
t_eq "an address with a quote: refused as not owned, not an SQL error" 553 \
    "$(reply "$AUTH" "MAIL FROM:<o'brien@maps.test>" "RCPT TO:<r@remote.example>")"
t_eq "no table error in Postfix's log" 0 "$(grep -c 'pgsql.*\(error\|failed\)' "$SVC_DIR/postfix/maillog" 2>/dev/null)"

# --- the Postfix role reads no table -----------------------------------------------------------
pgrole() { PGPASSWORD=$PFPW "$(_svc_pg_bindir)/psql" -At -X -q -h 127.0.0.1 -p "$PG_PORT" -U postinbox_postfix -d postinbox -c "$1" 2>&1; }
t_match "the Postfix role: no table" 'permission denied' "$(pgrole 'SELECT count(*) FROM postinbox.inbox')"
t_match "the Postfix role: no other function" 'permission denied' "$(pgrole "SELECT postinbox.inbox_create(NULL, NULL, NULL, 'x', NULL, '{}', NULL, NULL, 'x')")"
t_match "the Postfix role: no DKIM key" 'permission denied' "$(pgrole 'SELECT private_key FROM postinbox.dkim_key')"
t_eq "the Postfix role: its two functions" "maps.test|mallory@example.test" \
    "$(pgrole "SELECT postinbox.postfix_domain('Maps.Test.'), postinbox.postfix_sender_logins('$ADDR')")"

t_summary
