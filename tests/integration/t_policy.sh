#!/usr/bin/env bash
# t_policy.sh -- the policy service (postinbox-policyd, policy_listen)
# instead of the milter: a real Postfix with no milter and
# check_policy_service in smtpd_recipient_restrictions and
# smtpd_end_of_data_restrictions, real PostgreSQL and Redis.  What only
# the policy service does (the rows of the SMTP table, smtp_table.tsv, run
# against it and the milter in t_smtp_doors.sh): the daily cap under 40
# concurrent clients, decided at RCPT and at END-OF-MESSAGE, transactions
# that never finish, MAIL-stage checks, Redis down, then the protocol
# itself over a socket: persistent and pipelined requests, the charge at
# END-OF-MESSAGE and its idempotence, malformed and stalled input (the
# daemon closes the connection and keeps running), a unix socket, SIGHUP
# reload and SIGTERM.
set -u
. "$(dirname "$0")/common.sh"
# Prefer the system python3, as services.sh does (a pyenv shim first in
# PATH costs over a second per call, and json_get is called often).
[ -x /usr/bin/python3 ] && PATH=/usr/bin:$PATH
PC=$PI_TESTDIR/policy_client.py

# The races below test exactness, not latency: with 40 sessions at once
# under ASan a lookup may wait for a pooled connection past 1000 ms and
# tempfail (451 4.3.0, correctly, nothing charged), which a count of daily
# refusals would misread (as in t_caps.sh): a deadline of 5 s.
PI_BACKEND_TIMEOUT_MS=5000
pi_setup --policy
PD_LOG=$SVC_DIR/policyd.log
POLICY=$PI_POLICY
MAIN_PD_PID=$PD
t_eq "Postfix runs without a milter" "" "$(svc_postconf -h smtpd_milters)"

# On failure, show the daemon's log after the summary (stderr).
svc_on_exit() {
    if [ "${T_FAILED:-0}" != 0 ] && [ -f "$PD_LOG" ]; then
        echo "---- $PD_LOG (last 60 lines)" >&2
        tail -60 "$PD_LOG" >&2
    fi
}

A=$(pi_account "Acme" acme)
read -r BOB_ID BOB <<<"$(pi_inbox "$A" bob)"
read -r CAROL_ID CAROL <<<"$(pi_inbox "$A" carol)"
read -r DAVE_ID DAVE <<<"$(pi_inbox "$A" dave)"
read -r RACE_ID RACE <<<"$(pi_inbox "$A" race --daily-limit 10 --burst-limit 1000)"
read -r RACE2_ID RACE2 <<<"$(pi_inbox "$A" race2 --daily-limit 10 --burst-limit 1000)"
read -r ABORT_ID ABORT <<<"$(pi_inbox "$A" abort)"
read -r DIRECT_ID DIRECT <<<"$(pi_inbox "$A" direct --daily-limit 7)"
read -r TWICE_ID TWICE <<<"$(pi_inbox "$A" twice)"
pi_ctl inbox disable "$CAROL" --reason "test: disabled" >/dev/null
pi_ctl inbox suspend "$DAVE" --reason "test: suspended" >/dev/null
for ib in "$BOB" "$CAROL" "$DAVE" "$RACE" "$RACE2" "$ABORT" "$DIRECT" "$TWICE"; do
    pi_ctl login grant --login alice@example.test --inbox "$ib" >/dev/null
done
AUTH=(-a PLAIN -au alice@example.test -ap secret)
MAUTH=(-a PLAIN -au mallory@example.test -ap secret)

# --- the daily cap under 40 concurrent clients ----------------------------------
# Each daily cap check lies within one UTC day (after midnight the cap admits 10 more).
pi_clear_of_midnight 60
replies=$(send_many 40 40 "$RACE")
t_eq "daily cap race, 40 concurrent clients: exactly 10 accepted" 10 "$(grep -c '^250 ' <<<"$replies")"
daily=$(grep -c '^451 4\.7\.1 .*daily send limit' <<<"$replies")
t_eq "daily cap race: the other 30 are 451 4.7.1 daily" 30 "$daily"
[ "$daily" = 30 ] || grep -v '^250 \|^451 4\.7\.1 .*daily send limit' <<<"$replies" | sed 's/^/    other reply: /' >&2
t_eq "daily cap race: sendsToday is 10" 10 "$(pi_sends_today "$RACE_ID")"
t_eq "daily cap race: 10 charges logged at end of message" 10 \
    "$(grep -c "stage=eom direction=outbound sender=<$RACE> .* action=accept reason=charged" "$PD_LOG")"

# The same race decided at END-OF-MESSAGE: 40 sessions all get past RCPT
# (nothing charged yet, so each fits), wait for each other, then all send
# their message at once.  The single charge script lets exactly 10 through.
cat > "$SVC_DIR/eom_race.py" <<'EOF'
import smtplib, sys, threading
port, sender, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
barrier = threading.Barrier(n, timeout=60)
out = [None] * n
def client(i):
    rcpt = data = "000"
    try:
        s = smtplib.SMTP("127.0.0.1", port, "client.test", timeout=60)
        s.login("alice@example.test", "secret")
        s.mail(sender)
        rcpt = str(s.rcpt("e%d@remote.test" % i)[0])
        barrier.wait()
        try:
            code, text = s.data(b"Subject: race\r\n\r\nbody\r\n")
        except smtplib.SMTPDataError as e:
            code, text = e.smtp_code, e.smtp_error
        data = "%d %s" % (code, text.decode())
        s.quit()
    except Exception as e:
        data = "000 %r" % e
    out[i] = "rcpt=%s data=%s" % (rcpt, data)
threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
for t in threads: t.start()
for t in threads: t.join()
print("\n".join(out))
EOF
pi_clear_of_midnight 60
replies=$(python3 "$SVC_DIR/eom_race.py" "$SMTP_PORT" "$RACE2" 40)
t_eq "end-of-message race: all 40 RCPTs accepted (nothing charged yet)" 40 "$(grep -c '^rcpt=250 ' <<<"$replies")"
t_eq "end-of-message race: exactly 10 messages accepted" 10 "$(grep -c ' data=250 ' <<<"$replies")"
t_eq "end-of-message race: the other 30 are 451 4.7.1 daily at end of message" 30 \
    "$(grep -c ' data=451 4\.7\.1 .*daily send limit' <<<"$replies")"
t_eq "end-of-message race: sendsToday is 10" 10 "$(pi_sends_today "$RACE2_ID")"
t_eq "end-of-message race: 30 refusals logged at stage=eom" 30 \
    "$(grep -c "stage=eom direction=outbound sender=<$RACE2> .* action=tempfail reason=daily" "$PD_LOG")"

# --- transactions that never finish charge nothing -------------------------------
r=$(smtp_send "${AUTH[@]}" --from "$ABORT" --to q1@remote.test,q2@remote.test --quit-after RCPT)
t_match "QUIT after RCPT: recipients were accepted" '^2' "$r"
t_eq "QUIT after RCPT charges nothing" 0 "$(pi_sends_today "$ABORT_ID")"
r=$(smtp_send "${AUTH[@]}" --from "$ABORT" --to q3@remote.test --quit-after DATA)
t_eq "QUIT after DATA (no message) charges nothing" 0 "$(pi_sends_today "$ABORT_ID")"
r=$(smtp_send "${AUTH[@]}" --from "$ABORT" --to q4@remote.test)
t_match "after all that, a normal send passes" '^250 ' "$r"
t_eq "and is the only send charged" 1 "$(pi_sends_today "$ABORT_ID")"

# --- the policy service also in smtpd_sender_restrictions ----------------------
# With smtpd_delay_reject = yes (default) Postfix asks at RCPT twice per
# recipient (sender and recipient restrictions): still charged once.
svc_postconf -e "smtpd_sender_restrictions = check_policy_service $POLICY, permit"
svc_postfix_reload
r=$(smtp_send "${AUTH[@]}" --from "$TWICE" --to t1@remote.test,t2@remote.test)
t_match "asked twice per RCPT: accepted" '^250 ' "$r"
t_eq "asked twice per RCPT: two recipients are two sends" 2 "$(pi_sends_today "$TWICE_ID")"
# With smtpd_delay_reject = no the sender is checked at MAIL.
svc_postconf -e "smtpd_delay_reject = no"
svc_postfix_reload
r=$(smtp_send "${AUTH[@]}" --from "$CAROL" --to friend@remote.test)
t_match "MAIL stage: sender inbox disabled: 550 5.7.1" '^550 5\.7\.1 .*is disabled$' "$r"
t_eq "MAIL stage: refused in reply to MAIL FROM" 1 \
    "$(grep -A1 -- '-> MAIL FROM:' "$SVC_DIR/swaks.last" | grep -c '^<\*\* *550 5\.7\.1')"
r=$(smtp_send "${MAUTH[@]}" --from "$BOB" --to friend@remote.test)
t_match "MAIL stage: login not granted: 553 5.7.1" '^553 5\.7\.1 ' "$r"
r=$(smtp_send "${AUTH[@]}" --from "$TWICE" --to t3@remote.test)
t_match "MAIL stage: a good sender passes" '^250 ' "$r"
t_eq "MAIL stage: and is charged once" 3 "$(pi_sends_today "$TWICE_ID")"
grep -q "stage=mail direction=outbound sender=<$CAROL> login=alice@example.test inbox=$CAROL action=reject reason=sender_disabled" "$PD_LOG" \
    && t_ok "MAIL stage: decision logged as stage=mail" || t_fail "MAIL stage: decision logged as stage=mail"
svc_postconf -e "smtpd_delay_reject = yes" "smtpd_sender_restrictions ="
svc_postfix_reload

# --- the protocol over a socket ------------------------------------------------------
# preq ATTR=VALUE...: one request (escaped text for policy_client.py).
preq() {
    local s='request=smtpd_access_policy\n' kv
    for kv in "$@"; do s+="$kv"'\n'; done
    printf '%s' "$s"'\n'
}
pc() { python3 "$PC" "$POLICY_PORT" "$@"; }

# A client that sends half a request and stalls: closed after 10 s.
( PC_TIMEOUT=30 python3 "$PC" "$POLICY_PORT" 'request=smtpd_access_policy\nprotocol_state=RCPT\nsender=a@b' \
    > "$SVC_DIR/stall.out" 2>&1 ) &
STALL_PID=$!

out=$(pc "$(preq protocol_state=CONNECT client_address=192.0.2.1)" \
         "$(preq protocol_state=RCPT sender=ext@remote.test "recipient=$CAROL" client_address=192.0.2.1 instance=p.1)" \
         "$(preq protocol_state=RCPT sender=ext@remote.test recipient=someone@elsewhere.test client_address=192.0.2.1 instance=p.1)" \
         "$(preq protocol_state=MAIL "sender=$CAROL" sasl_username=alice@example.test client_address=192.0.2.1 instance=p.2)")
t_eq "persistent connection: four requests, four answers" \
    "action=DUNNO
action=550 5.2.1 inbox $CAROL is disabled
action=DUNNO
action=550 5.7.1 sending inbox $CAROL is disabled" "$out"
out=$(pc "$(preq protocol_state=CONNECT)$(preq protocol_state=RCPT sender=ext@remote.test "recipient=$DAVE")")
t_eq "pipelined: two requests in one write, two answers in order" \
    "action=DUNNO
action=450 4.2.1 inbox $DAVE is suspended, try again later" "$out"
out=$(pc 'request=smtpd_access_policy\r\nprotocol_state=RCPT\r\nsender=ext@remote.test\r\nrecipient='"$CAROL"'\r\n\r\n')
t_match "CRLF line ends are tolerated" '^action=550 5\.2\.1 ' "$out"

# RCPT only checks; END-OF-MESSAGE charges recipient_count at once, once
# (and the cap of 7 is reached within one UTC day).
pi_clear_of_midnight 60
OUT=(sasl_username=alice@example.test client_address=192.0.2.1 "sender=$DIRECT")
out=$(pc "$(preq protocol_state=RCPT "${OUT[@]}" recipient=d1@remote.test instance=d.1)" \
         "$(preq protocol_state=RCPT "${OUT[@]}" recipient=d2@remote.test instance=d.1)")
t_eq "direct RCPT, outbound: DUNNO twice" $'action=DUNNO\naction=DUNNO' "$out"
t_eq "direct RCPT: nothing charged" 0 "$(pi_sends_today "$DIRECT_ID")"
eom=$(preq protocol_state=END-OF-MESSAGE "${OUT[@]}" recipient_count=3 queue_id=QD1 instance=d.1)
t_eq "END-OF-MESSAGE, 3 recipients: DUNNO" "action=DUNNO" "$(pc "$eom")"
t_eq "END-OF-MESSAGE: 3 sends charged" 3 "$(pi_sends_today "$DIRECT_ID")"
t_eq "the same END-OF-MESSAGE asked again (a retry): DUNNO" "action=DUNNO" "$(pc "$eom")"
t_eq "the same END-OF-MESSAGE asked again: not charged twice" 3 "$(pi_sends_today "$DIRECT_ID")"
t_eq "the next message, 3 recipients: DUNNO" "action=DUNNO" \
    "$(pc "$(preq protocol_state=END-OF-MESSAGE "${OUT[@]}" recipient_count=3 queue_id=QD2 instance=d.2)")"
t_match "a message of 3 that would pass the daily cap of 7: 451 4.7.1, all or nothing" \
    "^action=451 4\.7\.1 inbox $DIRECT reached its daily send limit, resets at .*Z\$" \
    "$(pc "$(preq protocol_state=END-OF-MESSAGE "${OUT[@]}" recipient_count=3 queue_id=QD3 instance=d.3)")"
t_eq "all or nothing: nothing of it charged" 6 "$(pi_sends_today "$DIRECT_ID")"
t_match "a RCPT that would pass the cap: 451 4.7.1 at RCPT already" '^action=451 4\.7\.1 ' \
    "$(pc "$(preq protocol_state=RCPT "${OUT[@]}" recipient=e1@remote.test instance=d.4)" \
          "$(preq protocol_state=RCPT "${OUT[@]}" recipient=e2@remote.test instance=d.4)" | tail -n 1)"
t_eq "a message of 1 still fits" "action=DUNNO" \
    "$(pc "$(preq protocol_state=END-OF-MESSAGE "${OUT[@]}" recipient_count=1 queue_id=QD4 instance=d.4)")"
t_eq "sendsToday reaches the cap exactly" 7 "$(pi_sends_today "$DIRECT_ID")"
t_eq "END-OF-MESSAGE inbound: DUNNO, nothing charged" "action=DUNNO" \
    "$(pc "$(preq protocol_state=END-OF-MESSAGE "sender=$DIRECT" client_address=192.0.2.1 recipient_count=5 queue_id=QD5 instance=d.5)")"
t_eq "other protocol states: DUNNO" $'action=DUNNO\naction=DUNNO\naction=DUNNO' \
    "$(pc "$(preq protocol_state=DATA "${OUT[@]}" recipient_count=3)" "$(preq protocol_state=VRFY)" "$(preq protocol_state=ETRN)")"

# Malformed input: closed without an answer; the daemon carries on.
long=$(printf 'x%.0s' $(seq 1 9000))
t_eq "line without '=': closed without an answer" "CLOSED" "$(pc 'request=smtpd_access_policy\ngarbage\n\n' | cut -d' ' -f1)"
t_eq "NUL byte: closed" "CLOSED" "$(pc 'request=smtpd_access_policy\nsender=a\x00b@c.test\n\n' | cut -d' ' -f1)"
t_eq "over-long line (9000 bytes): closed" "CLOSED" "$(pc "request=smtpd_access_policy\\nhelo_name=$long\\n\\n" | cut -d' ' -f1)"
many=$(printf 'x=y\\n%.0s' $(seq 1 300))
t_eq "300 attributes: closed" "CLOSED" "$(pc "request=smtpd_access_policy\\n$many\\n" | cut -d' ' -f1)"
big=$(printf "helo_name=%s\\\\n" "${long:0:8000}")
t_eq "request over 64 KB: closed" "CLOSED" "$(pc "$(printf '%s' "$big"{,,,,,,,,})\\n" | cut -d' ' -f1)"
t_eq "invalid UTF-8 in the sender: closed" "CLOSED" \
    "$(pc "$(preq protocol_state=RCPT 'sender=j\xf6rg@remote.test' recipient=a@b.test)" | cut -d' ' -f1)"
t_eq "sasl_username twice, different values: closed" "CLOSED" \
    "$(pc "$(preq protocol_state=RCPT sasl_username=alice@example.test sasl_username=mallory@example.test)" | cut -d' ' -f1)"
t_eq "no request attribute: closed" "CLOSED" "$(pc 'protocol_state=RCPT\n\n' | cut -d' ' -f1)"
out=$(pc "$(preq protocol_state=CONNECT)" 'junk\n\n' "$(preq protocol_state=CONNECT)")
t_eq "a good request, then garbage: answered, then closed" $'action=DUNNO\nCLOSED' "$(cut -d' ' -f1 <<<"$out")"
wait "$STALL_PID"
t_match "a stalled partial request is closed after about 10 s" '^CLOSED 1[0-2]\.' "$(cat "$SVC_DIR/stall.out")"
kill -0 "$MAIN_PD_PID" 2>/dev/null && t_ok "the daemon survived all of it" || t_fail "the daemon survived all of it"
t_eq "and still answers" "action=DUNNO" "$(pc "$(preq protocol_state=CONNECT)")"
t_eq "each malformed request logged as a warning" 9 "$(grep -c 'malformed request' "$PD_LOG")"
grep -q "then nothing for 10 s; closing" "$PD_LOG" && t_ok "the stall logged" || t_fail "the stall logged"

# --- Redis down ------------------------------------------------------------------------
svc_kill_redis
r=$(smtp_send "${AUTH[@]}" --from "$BOB" --to rd1@remote.test)
t_match "Redis down: outbound mail gets 451 4.3.0" '^451 4\.3\.0 ' "$r"
r=$(smtp_send --from ext@remote.test --to "$BOB")
t_match "Redis down: inbound mail keeps flowing" '^250 ' "$r"
BOBOUT=(sasl_username=alice@example.test client_address=192.0.2.1 "sender=$BOB")
t_eq "Redis down: END-OF-MESSAGE outbound is 451 4.3.0" \
    "action=451 4.3.0 temporary failure looking up $BOB, try again later" \
    "$(pc "$(preq protocol_state=END-OF-MESSAGE "${BOBOUT[@]}" recipient_count=1 queue_id=QR1 instance=r.1)")"
t_eq "Redis down: END-OF-MESSAGE inbound is DUNNO" "action=DUNNO" \
    "$(pc "$(preq protocol_state=END-OF-MESSAGE "sender=ext@remote.test" client_address=192.0.2.1 recipient_count=1 queue_id=QR2 instance=r.2)")"
pi_write_conf "on_backend_error = accept"
kill -HUP "$MAIN_PD_PID"
sleep 0.5
grep -q "reloaded" "$PD_LOG" && t_ok "SIGHUP reloads the config" || t_fail "SIGHUP reloads the config"
t_eq "Redis down, on_backend_error = accept: END-OF-MESSAGE is DUNNO" "action=DUNNO" \
    "$(pc "$(preq protocol_state=END-OF-MESSAGE "${BOBOUT[@]}" recipient_count=1 queue_id=QR3 instance=r.3)")"
pi_write_conf
kill -HUP "$MAIN_PD_PID"
svc_start_redis
sleep 0.5
r=$(smtp_send "${AUTH[@]}" --from "$BOB" --to rd2@remote.test)
t_match "Redis back: outbound recovers by itself" '^250 ' "$r"

# --- a unix socket ---------------------------------------------------------------------
sed "s|^policy_listen = .*|policy_listen = unix:$SVC_DIR/policy.sock|" "$PI_CONF" > "$SVC_DIR/unix.conf"
if pi_start_policyd "$SVC_DIR/unix.conf" "$SVC_DIR/policyd-unix.log"; then
    UNIX_PID=$PD
    t_eq "unix socket: answers" "action=550 5.2.1 inbox $CAROL is disabled" \
        "$(python3 "$PC" "unix:$SVC_DIR/policy.sock" "$(preq protocol_state=RCPT sender=ext@remote.test "recipient=$CAROL")")"
    kill -TERM "$UNIX_PID"
    for _ in $(seq 1 50); do kill -0 "$UNIX_PID" 2>/dev/null || break; sleep 0.1; done
    [ -e "$SVC_DIR/policy.sock" ] && t_fail "unix socket removed at stop" || t_ok "unix socket removed at stop"
else
    t_fail "unix socket: policyd starts"
fi

# --- only Postfix may ask: a unix socket no other local user can open ------------------
# The socket lives in a directory every user may enter, so what keeps a local
# user out is the socket's own mode (0660) and group (policy_socket_group).
PUB=$(mktemp -d /tmp/pi-policy-pub.XXXXXX)
chmod 0755 "$PUB"
cp "$PC" "$PUB/policy_client.py"
chmod 0644 "$PUB/policy_client.py"
{ sed "s|^policy_listen = .*|policy_listen = unix:$PUB/policy.sock|" "$PI_CONF"; echo "policy_socket_group = postfix"; } \
    > "$SVC_DIR/group.conf"
if pi_start_policyd "$SVC_DIR/group.conf" "$SVC_DIR/policyd-group.log"; then
    GROUP_PID=$PD
    t_eq "unix socket: mode 0660, group postfix" "660 postfix" "$(stat -c '%a %G' "$PUB/policy.sock")"
    RCPT_REQ=$(preq protocol_state=RCPT sender=ext@remote.test "recipient=$CAROL")
    t_eq "unix socket: Postfix's user (group postfix) is answered" "action=550 5.2.1 inbox $CAROL is disabled" \
        "$(runuser -u postfix -- /usr/bin/python3 "$PUB/policy_client.py" "unix:$PUB/policy.sock" "$RCPT_REQ" 2>&1)"
    out=$(runuser -u nobody -- /usr/bin/python3 "$PUB/policy_client.py" "unix:$PUB/policy.sock" "$RCPT_REQ" 2>&1)
    t_match "unix socket: another local user cannot connect" "Permission denied" "$out"
    kill -TERM "$GROUP_PID"
    for _ in $(seq 1 50); do kill -0 "$GROUP_PID" 2>/dev/null || break; sleep 0.1; done
else
    t_fail "unix socket with policy_socket_group: policyd starts"
fi
rm -rf "$PUB"
{ sed "s|^policy_listen = .*|policy_listen = unix:$SVC_DIR/bad.sock|" "$PI_CONF"; echo "policy_socket_group = no-such-group-here"; } \
    > "$SVC_DIR/badgroup.conf"
"$PI_POLICYD" -c "$SVC_DIR/badgroup.conf" -f >"$SVC_DIR/policyd-badgroup.log" 2>&1 &
BAD_PID=$!
for _ in $(seq 1 50); do kill -0 "$BAD_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$BAD_PID" 2>/dev/null; then
    kill -KILL "$BAD_PID"
    t_fail "an unknown policy_socket_group stops the start"
else
    t_match "an unknown policy_socket_group stops the start, naming it" "policy_socket_group no-such-group-here: no such group" \
        "$(cat "$SVC_DIR/policyd-badgroup.log")"
fi

# --- only Postfix may ask: TCP peers outside policy_allow_networks get nothing ------------
before=$(pi_sends_today "$BOB_ID")
pi_write_conf "policy_allow_networks = 192.0.2.0/24"
kill -HUP "$MAIN_PD_PID"
sleep 0.5
t_match "a peer outside policy_allow_networks is closed without an answer" "^CLOSED " \
    "$(pc "$(preq protocol_state=END-OF-MESSAGE "${BOBOUT[@]}" recipient_count=25 queue_id=QX1 instance=x.1)")"
t_eq "... and charges nothing" "$before" "$(pi_sends_today "$BOB_ID")"
t_match "... and is logged" "client=127\.0\.0\.1:[0-9]+ not in policy_allow_networks" "$(cat "$PD_LOG")"
pi_write_conf
kill -HUP "$MAIN_PD_PID"
sleep 0.5
t_eq "loopback (the default) is answered again after a reload" "action=550 5.2.1 inbox $CAROL is disabled" \
    "$(pc "$(preq protocol_state=RCPT sender=ext@remote.test "recipient=$CAROL")")"

# --- the log -----------------------------------------------------------------------------
t_match "decision log line: queue id first, key=value" \
    "[0-9A-Z]+: stage=eom direction=outbound sender=<$BOB> login=alice@example\.test inbox=$BOB recipients=1 action=accept reason=charged sendsToday=[0-9]+/250 burst=[0-9]+/25 us=[0-9]+" \
    "$(cat "$PD_LOG")"
t_match "reject logged with reason" \
    "NOQUEUE: stage=rcpt direction=inbound sender=<ext@remote\.test> rcpt=<$CAROL> inbox=$CAROL action=reject reason=disabled us=[0-9]+" \
    "$(cat "$PD_LOG")"

# --- SIGTERM -------------------------------------------------------------------------------
kill -TERM "$MAIN_PD_PID"
for _ in $(seq 1 50); do kill -0 "$MAIN_PD_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$MAIN_PD_PID" 2>/dev/null && t_fail "SIGTERM stops the daemon" || t_ok "SIGTERM stops the daemon"
t_match "and it says so" 'policy: stopped listening on 127\.0\.0\.1:[0-9]+ after [0-9]+ requests' "$(cat "$PD_LOG")"

t_summary
