#!/usr/bin/env bash
# t_leaked.sh -- reservations whose milter was killed (kill -9) in the
# middle of SMTP transactions, after RCPT reserved their sends, are given
# back once reservation_timeout has passed, exactly: sendsToday is what it
# was before, and an inbox at its daily cap can then send exactly what is
# left.  Messages that were finished (settled at end of message, one with
# three recipients) stay charged though older than the timeout.  A live
# transaction slower than the timeout has its send given back while it
# waits, and charged again when it ends if the day still has room (else
# 451 4.7.1 at end of message).  The timeout is long enough for the reads
# before it to be made on a loaded machine (a machine slower than that
# skips them, saying so); those reads go straight to Redis (redis-cli),
# which gives nothing back: only the scripts do.
# test-timeout: 400
set -u
. "$(dirname "$0")/common.sh"
TIMEOUT=30    # reservation_timeout, seconds
MARGIN=20     # the give-back is seen within TIMEOUT + MARGIN of the reservation
pi_setup "reservation_timeout = ${TIMEOUT}s"

A=$(pi_account "Acme" acme)
read -r CAP_ID CAP <<<"$(pi_inbox "$A" cap --daily-limit 5 --burst-limit 1000)"
read -r MULTI_ID MULTI <<<"$(pi_inbox "$A" multi)"
read -r SLOW_ID SLOW <<<"$(pi_inbox "$A" slow)"
read -r FULL_ID FULL <<<"$(pi_inbox "$A" full --daily-limit 2 --burst-limit 1000)"
for ib in "$CAP" "$MULTI" "$SLOW" "$FULL"; do pi_ctl login grant --login alice@example.test --inbox "$ib" >/dev/null; done
AUTH=(-a PLAIN -au alice@example.test -ap secret)
rows() { svc_psql "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$1'"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# Today's count straight from Redis, without running a script.
redis_sends() {
    local v
    v=$(svc_redis_cli HGET "pi:{$1}:daily" $(( $(svc_redis_cli TIME | head -n 1) / 86400 )))
    echo "${v:-0}"
}
# Milliseconds since a time of Redis's clock (a reservation's score).
redis_now_ms() { svc_redis_cli TIME | { read -r sec; read -r usec; echo $(( sec * 1000 + usec / 1000 )); }; }
since_ms() { local t=${1%.*}; echo $(( $(redis_now_ms) - t )); }
score() { svc_redis_cli ZRANGE "$1" "$2" "$2" WITHSCORES | tail -n 1; }
held_settled() { echo "$(svc_redis_cli ZCARD "pi:{$1}:unsettled") $(svc_redis_cli ZCARD "pi:{$1}:settled")"; }

# sessions.py PORT TRIGGER MODE SENDER:NRCPT...: one SMTP session per
# SENDER:NRCPT (SASL as alice), each through MAIL and NRCPT RCPTs; prints
# the replies of each session on a line, then "ready", then waits for the
# file TRIGGER.  MODE quit: each session QUITs (the milter is gone by then);
# MODE data: each sends its message and prints the reply code and the
# enhanced code.
cat >"$SVC_DIR/sessions.py" <<'PY'
import os, smtplib, sys, time
port, trigger, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
sessions = []
for n, spec in enumerate(sys.argv[4:]):
    sender, nrcpt = spec.rsplit(":", 1)
    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    s.ehlo("client.test"); s.login("alice@example.test", "secret")
    codes = [s.mail(sender)[0]]
    rcpts = ["s%d.%d@remote.test" % (n, i) for i in range(int(nrcpt))]
    codes += [s.rcpt(r)[0] for r in rcpts]
    print(" ".join(map(str, codes)), flush=True)
    sessions.append((s, sender, rcpts))
print("ready", flush=True)
for _ in range(600):
    if os.path.exists(trigger):
        break
    time.sleep(0.1)
for s, sender, rcpts in sessions:
    try:
        if mode == "data":
            msg = "From: <%s>\r\nTo: <%s>\r\nSubject: slow\r\n\r\nslow\r\n" % (sender, rcpts[0])
            try:
                code, text = s.data(msg)
            except smtplib.SMTPDataError as e:
                code, text = e.smtp_code, e.smtp_error
            print(code, text.split()[0].decode(), flush=True)
        s.quit()
    except Exception as e:
        print("error %s" % e.__class__.__name__, flush=True)
PY
# sessions_start OUT TRIGGER MODE SPECS...: sessions.py in the background
# (pid in $SESS); returns once it printed "ready" (10 s at most).
sessions_start() {
    local out=$1
    rm -f "$2"
    python3 "$SVC_DIR/sessions.py" "$SMTP_PORT" "$2" "$3" "${@:4}" >"$out" 2>&1 &
    SESS=$!
    for _ in $(seq 1 100); do grep -q '^ready' "$out" && return 0; sleep 0.1; done
    return 1
}
# sends_until INBOX_ID WANT SECONDS: polls sendsToday (0.25 s) until WANT,
# at most SECONDS; prints the last value read.
sends_until() {
    local v= end=$(( $(now_ms) + $3 * 1000 ))
    while :; do
        v=$(pi_sends_today "$1")
        [ "$v" = "$2" ] && break
        [ "$(now_ms)" -ge "$end" ] && break
        sleep 0.25
    done
    echo "$v"
}

# --- finished messages: settled ----------------------------------------------------------
t_match "a first message from cap" "^250 " "$(smtp_send "${AUTH[@]}" --from "$CAP" --to f1@remote.test)"
t_match "a second message from cap" "^250 " "$(smtp_send "${AUTH[@]}" --from "$CAP" --to f2@remote.test)"
t_match "a message from multi to three recipients" "^250 " \
    "$(smtp_send "${AUTH[@]}" --from "$MULTI" --to m1@remote.test,m2@remote.test,m3@remote.test)"
t_eq "(sendsToday before the leak: cap 2, multi 3)" "2 3" "$(pi_sends_today "$CAP_ID") $(pi_sends_today "$MULTI_ID")"
t_eq "finished messages hold nothing: settled (cap 2, multi 3)" "0 2 0 3" \
    "$(held_settled "$CAP_ID") $(held_settled "$MULTI_ID")"
finished_at=$(svc_redis_cli ZRANGE "pi:{$MULTI_ID}:settled" -1 -1 WITHSCORES | tail -n 1)

# --- transactions in flight when the milter is killed ------------------------------------
sessions_start "$SVC_DIR/leak.out" "$SVC_DIR/leak.go" quit "$CAP:1" "$CAP:1" "$CAP:1" "$MULTI:2" ||
    t_fail "the sessions reach RCPT" "$(cat "$SVC_DIR/leak.out")"
t_eq "four sessions reached RCPT: every recipient reserved" $'250 250\n250 250\n250 250\n250 250 250\nready' \
    "$(cat "$SVC_DIR/leak.out")"
first=$(score "pi:{$CAP_ID}:unsettled" 0) last=$(score "pi:{$CAP_ID}:unsettled" -1)   # the reservations' times
t_eq "the reservations count at once: cap 5 (its daily cap), multi 5" "5 5" \
    "$(redis_sends "$CAP_ID") $(redis_sends "$MULTI_ID")"
if [ "$(since_ms "$first")" -lt $((TIMEOUT * 500)) ]; then
    full=$(smtp_send "${AUTH[@]}" --from "$CAP" --to full@remote.test)
    elapsed=$(since_ms "$first")
    [ "$elapsed" -lt $((TIMEOUT * 1000)) ] || echo "# (that send came ${elapsed} ms after the reservations)"
    t_match "cap is full while they are held: 451 4.7.1" "^451 4\.7\.1 " "$full"
else
    echo "# skipped: cap is full while they are held (the machine took $(since_ms "$first") ms)"
fi
killed=$(pi_milter_pid)
kill -9 "$killed"
wait "$killed" 2>/dev/null   # reaped here, quietly
pi_start_milter || t_fail "the milter starts again"
touch "$SVC_DIR/leak.go"
wait "$SESS"
t_eq "the killed milter's transactions ended unsettled: the reservations still held (cap 3, multi 2)" "3 2" \
    "$(svc_redis_cli ZCARD "pi:{$CAP_ID}:unsettled") $(svc_redis_cli ZCARD "pi:{$MULTI_ID}:unsettled")"
before=$(redis_sends "$CAP_ID") elapsed=$(since_ms "$first")
if [ "$elapsed" -lt $((TIMEOUT * 1000)) ]; then
    t_eq "before the timeout (${elapsed} ms) the leaked sends still count: cap 5" 5 "$before"
else
    echo "# skipped: before the timeout the leaked sends still count (the machine took ${elapsed} ms)"
fi
t_eq "once the timeout passed, cap's leaked sends are given back: sendsToday 2" 2 \
    "$(sends_until "$CAP_ID" 2 $((TIMEOUT + MARGIN)))"
given_back=$(since_ms "$last")
t_match "within timeout + ${MARGIN} s of the last reservation (${given_back} ms)" '^[0-9]+$' \
    "$([ "$given_back" -le $(( (TIMEOUT + MARGIN) * 1000 )) ] && echo "$given_back")"
t_eq "multi's two leaked sends are given back, its finished three stay: sendsToday 3" 3 \
    "$(sends_until "$MULTI_ID" 3 5)"
t_eq "nothing is held any more, the settled stay (cap 2, multi 3)" "0 2 0 3" \
    "$(held_settled "$CAP_ID") $(held_settled "$MULTI_ID")"
finished_at=${finished_at%.*}
age=$(( $(svc_redis_cli TIME | head -n 1) * 1000 - ${finished_at:-0} ))
t_match "the finished messages are older than the timeout (${age} ms) and still charged" '^[0-9]+$' \
    "$([ -n "$finished_at" ] && [ "$age" -gt $((TIMEOUT * 1000)) ] && echo "$age")"

t_eq "an older milter's held key (never emptied at end of message) is not taken for leaked sends" 3 \
    "$(svc_redis_cli ZADD "pi:{$MULTI_ID}:held" $(( $(redis_now_ms) - 2 * TIMEOUT * 1000 )) legacy.token >/dev/null
       pi_sends_today "$MULTI_ID")"

# --- the daily cap after the leak: exactly what is left ----------------------------------
replies=$(for i in 1 2 3 4 5; do smtp_send "${AUTH[@]}" --from "$CAP" --to "after$i@remote.test"; done)
t_eq "cap (5 a day, 2 sent) can send exactly 3 more" 3 "$(grep -c '^250 ' <<<"$replies")"
t_eq "and the other 2 are 451 4.7.1" 2 "$(grep -c '^451 4\.7\.1 ' <<<"$replies")"
t_eq "cap's sendsToday is its limit" 5 "$(pi_sends_today "$CAP_ID")"
t_eq "cap's records: the 5 messages that went" 5 "$(rows "$CAP_ID")"

# --- live transactions slower than the timeout -----------------------------------------
# slow: given back while it waits, charged again when it ends.  full (2 a
# day): given back while it waits, and meanwhile two other messages take
# the day's room, so at its end it is refused (451 4.7.1) and refunded:
# holding a transaction open past the timeout does not get around the cap.
sessions_start "$SVC_DIR/slow.out" "$SVC_DIR/slow.go" data "$SLOW:1" "$FULL:1" ||
    t_fail "the slow sessions reach RCPT" "$(cat "$SVC_DIR/slow.out")"
t_eq "slow, full: reserved at RCPT" "1 1" "$(redis_sends "$SLOW_ID") $(redis_sends "$FULL_ID")"
t_eq "slow: the transaction still waits past the timeout, and its send is given back meanwhile" 0 \
    "$(sends_until "$SLOW_ID" 0 $((TIMEOUT + MARGIN)))"
t_eq "full: its send is given back too" 0 "$(sends_until "$FULL_ID" 0 5)"
t_eq "full: two other messages take the day's room meanwhile" "250 250 2" \
    "$(smtp_code "$(smtp_send "${AUTH[@]}" --from "$FULL" --to o1@remote.test)") \
$(smtp_code "$(smtp_send "${AUTH[@]}" --from "$FULL" --to o2@remote.test)") $(pi_sends_today "$FULL_ID")"
touch "$SVC_DIR/slow.go"
wait "$SESS"
t_eq "then they end: slow is accepted, full is refused at end of message with 451 4.7.1" \
    $'250 250\n250 250\nready\n250 2.0.0\n451 4.7.1' "$(cat "$SVC_DIR/slow.out")"
t_eq "slow: its send is charged again at end of message: sendsToday 1" 1 "$(pi_sends_today "$SLOW_ID")"
t_eq "slow: and recorded once" 1 "$(rows "$SLOW_ID")"
t_eq "slow: settled, nothing held" "0 1" "$(held_settled "$SLOW_ID")"
t_eq "full: sendsToday stays at its cap, 2 records, nothing held" "2 2 0" \
    "$(pi_sends_today "$FULL_ID") $(rows "$FULL_ID") $(svc_redis_cli ZCARD "pi:{$FULL_ID}:unsettled")"

t_summary
