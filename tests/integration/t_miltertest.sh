#!/usr/bin/env bash
# t_miltertest.sh -- miltertest scripts against the milter alone (real
# PostgreSQL and Redis, no Postfix): the reply to each RCPT/MAIL case and
# the records of complete messages, including two in one session.
set -u
. "$(dirname "$0")/common.sh"
command -v miltertest >/dev/null || { echo "SKIP: miltertest not installed"; exit 77; }
pi_setup --no-postfix

A=$(pi_account "Acme" acme)
read -r ACTIVE_ID ACTIVE <<<"$(pi_inbox "$A" active)"
read -r _ DISABLED <<<"$(pi_inbox "$A" off)"
read -r _ SUSPENDED <<<"$(pi_inbox "$A" paused)"
pi_ctl inbox disable "$DISABLED" >/dev/null
pi_ctl inbox suspend "$SUSPENDED" >/dev/null

sed -e "s/@PORT@/$MILTER_PORT/" -e "s/@ACTIVE@/$ACTIVE/g" -e "s/@DISABLED@/$DISABLED/" \
    -e "s/@SUSPENDED@/$SUSPENDED/" -e "s/@UNKNOWN@/nobody--acme@$SANDBOX/" -e "s/@SENDER@/$ACTIVE/g" \
    "$PI_SRCDIR/tests/miltertest/table.lua" > "$SVC_DIR/table.lua"
out=$(miltertest -s "$SVC_DIR/table.lua" 2>&1)
line() { sed -n "s/^$1 //p" <<<"$out"; }
t_eq "active recipient: continue" continue "$(line rcpt-active)"
t_eq "disabled recipient: a reply code (550 5.2.1)" reply-code "$(line rcpt-disabled)"
t_eq "suspended recipient: a reply code (450 4.2.1)" reply-code "$(line rcpt-suspended)"
t_eq "unknown sandbox recipient: a reply code (550 5.1.1)" reply-code "$(line rcpt-unknown)"
t_eq "foreign recipient: continue" continue "$(line rcpt-foreign)"
t_eq "malformed recipient: a reply code (553 5.1.3)" reply-code "$(line rcpt-malformed)"
t_eq "unauthenticated MAIL FROM an inbox: a reply code (550 5.7.1)" reply-code "$(line mail-spoof)"
t_eq "login without a grant: a reply code (553 5.7.1)" reply-code "$(line mail-not-granted)"
t_eq "first message of the session accepted" continue "$(line eom-1)"
t_eq "second message of the same session accepted" continue "$(line eom-2)"
t_eq "the script ran to its end" done "$(tail -n 1 <<<"$out")"

log=$(cat "$(pi_milter_log)")
t_match "log: disabled recipient refused" "rcpt=<$DISABLED> inbox=$DISABLED action=reject reason=disabled" "$log"
t_match "log: suspended recipient deferred" "rcpt=<$SUSPENDED> inbox=$SUSPENDED action=tempfail reason=suspended" "$log"
t_match "log: malformed recipient" "stage=rcpt direction=[a-z]+ sender=<[^>]*>( login=[^ ]+)? action=reject reason=malformed" "$log"
t_match "log: spoof" "sender=<$ACTIVE> inbox=$ACTIVE action=reject reason=spoof" "$log"
t_match "log: not granted" "login=nobody@example.test inbox=$ACTIVE action=reject reason=not_granted" "$log"
t_eq "two records, one per message, both inbound" "inbound:miltertest 1:first@x, second@x|inbound:miltertest 2:first@x, second@x" \
    "$(svc_psql "SELECT string_agg(direction || ':' || subject || ':' || to_header, '|' ORDER BY subject)
                   FROM postinbox.message WHERE inbox_id = '$ACTIVE_ID'")"
t_eq "the two messages are two threads" 2 \
    "$(svc_psql "SELECT count(DISTINCT thread_id) FROM postinbox.message WHERE inbox_id = '$ACTIVE_ID'")"
kill -0 "$(pi_milter_pid)" && t_ok "milter alive" || t_fail "milter alive"
# SIGTERM goes to libmilter's signal thread, which stops in order (a thread
# of ours that left it unblocked would take it and end the process at once).
pi_stop_milter
t_match "SIGTERM: an orderly stop" "stopped \(smfi_main returned 0\)" "$(tail -n 3 "$(pi_milter_log)")"
t_summary
