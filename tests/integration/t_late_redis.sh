#!/usr/bin/env bash
# t_late_redis.sh -- Redis that answers late (frozen with SIGSTOP past
# backend_timeout_ms, then thawed) charges nothing that was refused: the
# reservation script still waiting in Redis's socket runs on thaw, but the
# milter gave its token back (voided, and the refund retried until Redis
# answered), so sendsToday is what it was before the freeze.  The same for
# the policy service's charge at END-OF-MESSAGE, and for a refund (RSET
# after a reservation) that Redis did not answer at once.  Every "before"
# is read before the freeze.
set -u
. "$(dirname "$0")/common.sh"
pi_init --policyd
pi_setup
PC=$PI_TESTDIR/policy_client.py
A=$(pi_account "Acme" acme)
read -r BOB_ID BOB <<<"$(pi_inbox "$A" bob)"
read -r EVE_ID EVE <<<"$(pi_inbox "$A" eve)"
read -r RSET_ID RSET <<<"$(pi_inbox "$A" rset)"
for ib in "$BOB" "$EVE" "$RSET"; do pi_ctl login grant --login alice@example.test --inbox "$ib" >/dev/null; done
AUTH=(-a PLAIN -au alice@example.test -ap secret)
REDIS_PID=$(cat "$SVC_DIR/redis.pid")
freeze() { kill -STOP "$REDIS_PID"; }
thaw() { kill -CONT "$REDIS_PID"; }
svc_on_exit() { kill -CONT "$REDIS_PID" 2>/dev/null; }
# settles INBOX_ID WANT: sendsToday reaches WANT within 10 s and stays there 2 s; prints the last value.
settles() {
    local v=
    for _ in $(seq 1 50); do v=$(pi_sends_today "$1"); [ "$v" = "$2" ] && break; sleep 0.2; done
    sleep 2
    pi_sends_today "$1"
}
burst_of() { pi_ctl --json inbox show "$1" | json_get burstUsed; }

# --- the milter: RCPT while Redis is frozen -----------------------------------------
t_match "one send before the freeze" "^250 " "$(smtp_send "${AUTH[@]}" --from "$BOB" --to a@remote.test)"
before=$(pi_sends_today "$BOB_ID")
t_eq "(sendsToday before the freeze)" 1 "$before"
freeze
started=$(date +%s%N)
r=$(smtp_send "${AUTH[@]}" --from "$BOB" --to b@remote.test)
took=$(( ($(date +%s%N) - started) / 1000000 ))
sleep 2   # frozen well past the deadline: the script waits in Redis's socket
thaw
t_match "RCPT while Redis is frozen: 451 4.3.0" "^451 4\.3\.0 " "$r"
t_match "(answered within the deadline, not after the thaw: ${took} ms)" "^[0-9]{3,4}$" "$took"
t_eq "after the thaw the late reservation charged nothing: sendsToday as before" "$before" "$(settles "$BOB_ID" "$before")"
t_eq "and the burst window holds only the real send" 1 "$(burst_of "$BOB_ID")"
t_match "the milter logged the give-back it could not make at once" "stage=refund inbox=$BOB token=.* action=queued" \
    "$(cat "$(pi_milter_log)")"
t_eq "Redis holds only the real send, settled (the late reservation was given back or refused)" "0 1" \
    "$(svc_redis_cli ZCARD "pi:{$BOB_ID}:unsettled") $(svc_redis_cli ZCARD "pi:{$BOB_ID}:settled")"
t_match "the next message goes through and is charged once" "^250 " "$(smtp_send "${AUTH[@]}" --from "$BOB" --to c@remote.test)"
t_eq "sendsToday counts it" $((before + 1)) "$(pi_sends_today "$BOB_ID")"

# --- the milter: a refund (RSET after RCPT) while Redis is frozen --------------------
cat >"$SVC_DIR/rset.py" <<'PY'
import os, signal, smtplib, sys, time
port, sender, redis_pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s = smtplib.SMTP("127.0.0.1", port, timeout=30)
s.ehlo("client.test"); s.login("alice@example.test", "secret")
print(s.mail(sender)[0], s.rcpt("r@remote.test")[0])   # reserved while Redis answers
os.kill(redis_pid, signal.SIGSTOP)
print(s.rset()[0])                                        # the milter refunds: Redis does not answer
time.sleep(2)
os.kill(redis_pid, signal.SIGCONT)
s.quit()
PY
before=$(pi_sends_today "$RSET_ID")
t_eq "RSET: reserved (250 250), then RSET answered while Redis is frozen" $'250 250\n250' \
    "$(python3 "$SVC_DIR/rset.py" "$SMTP_PORT" "$RSET" "$REDIS_PID")"
t_eq "the refund Redis did not answer is made once it does: sendsToday as before" "$before" \
    "$(settles "$RSET_ID" "$before")"

# --- the policy service: END-OF-MESSAGE while Redis is frozen -----------------------
PPORT=$(_svc_pick_ports 1) || exit 1
sed 's/^policy_listen = .*//' "$PI_CONF" >"$SVC_DIR/policyd.conf"
echo "policy_listen = 127.0.0.1:$PPORT" >>"$SVC_DIR/policyd.conf"
pi_start_policyd "$SVC_DIR/policyd.conf" || exit 1
preq() { local s='request=smtpd_access_policy\n' kv; for kv in "$@"; do s+="$kv"'\n'; done; printf '%s' "$s"'\n'; }
OUT=(sasl_username=alice@example.test client_address=192.0.2.1 "sender=$EVE")
t_eq "policy: a first message of 2 is charged" "action=DUNNO" \
    "$(python3 "$PC" "$PPORT" "$(preq protocol_state=END-OF-MESSAGE "${OUT[@]}" recipient_count=2 queue_id=QE1 instance=e.1)")"
before=$(pi_sends_today "$EVE_ID")
t_eq "(policy: sendsToday before the freeze)" 2 "$before"
freeze
r=$(python3 "$PC" "$PPORT" "$(preq protocol_state=END-OF-MESSAGE "${OUT[@]}" recipient_count=3 queue_id=QE2 instance=e.2)")
sleep 2
thaw
t_match "policy: END-OF-MESSAGE while Redis is frozen: 451 4.3.0" "^action=451 4\.3\.0 " "$r"
t_eq "policy: after the thaw the late charge of 3 charged nothing" "$before" "$(settles "$EVE_ID" "$before")"
t_eq "policy: the next message of 3 is charged once" "action=DUNNO 5" \
    "$(python3 "$PC" "$PPORT" "$(preq protocol_state=END-OF-MESSAGE "${OUT[@]}" recipient_count=3 queue_id=QE3 instance=e.3)") $(pi_sends_today "$EVE_ID")"
pi_stop_policyd

t_summary
