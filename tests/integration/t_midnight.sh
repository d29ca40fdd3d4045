#!/usr/bin/env bash
# t_midnight.sh -- the caps at 00:00 UTC, with redis-server and the milter
# on a clock the test moves to just before midnight (libfaketime, an offset
# both read from a file at every clock call: they see the same time, the
# milter's 2 s behind Redis's, because Redis's clock alone decides the day;
# the test sets the clock forward between steps, so a slow machine does not
# make it miss midnight).  A send at 23:59:59.5 counts
# in the old day and one at 00:00:00.5 in the new one (the Redis day fields
# and sendsToday say so), the daily cap resets at midnight and its reply
# names that midnight, the burst guard holds across it (and is not counted
# twice by the new day's seeding), a refund after midnight gives the send
# back to the day it was taken on, and counters Redis lost are rebuilt from
# the rows of Redis's day, not of the database's.
#
# PostgreSQL runs on the real clock; a test trigger shifts each new message
# row's created_at by the same offset, so the rows are where a database on
# the same clock as Redis would put them.  A send meant for a moment is a
# session opened on a clock ten minutes before midnight, whose RCPT goes out
# when Redis's clock reads that moment, after the clock is moved to 23:59:50.
# test-timeout: 600
set -u
. "$(dirname "$0")/common.sh"
pi_init
WRAP_PROBE=$(pi_faketime_wrap +0) || { echo "$WRAP_PROBE"; exit 77; }
pi_setup

A=$(pi_account "Acme" acme)
read -r ACROSS_ID ACROSS <<<"$(pi_inbox "$A" across)"
read -r DAY_ID DAY <<<"$(pi_inbox "$A" day --daily-limit 2)"
read -r BURST_ID BURST <<<"$(pi_inbox "$A" burst --burst-limit 4)"
read -r REFUND_ID REFUND <<<"$(pi_inbox "$A" refund)"
read -r SEED_ID SEED <<<"$(pi_inbox "$A" seed)"
for ib in "$ACROSS" "$DAY" "$BURST" "$REFUND" "$SEED"; do
    pi_ctl login grant --login alice@example.test --inbox "$ib" >/dev/null
done
AUTH=(-a PLAIN -au alice@example.test -ap secret)
send() { smtp_send "${AUTH[@]}" --from "$1" --to "$2"; }

# The midnight the test crosses: the next 1 January (a day, a month and a
# year wrap), always ahead of the real clock, so the milter's record
# deadlines (its wall clock) lie in the database's future, never its past.
now=$(date -u +%s)
M=$(date -u -d "$(( $(date -u -d "@$((now + 86400))" +%Y) + 1 ))-01-01 00:00:00" +%s)
OLD=$((M / 86400 - 1)) NEW=$((M / 86400))
M_TEXT=$(date -u -d "@$M" +%Y-%m-%dT%H:%M:%SZ)

redis_ms() { svc_redis_cli TIME | { read -r s; read -r us; echo $((s * 1000 + us / 1000)); }; }
field() { svc_redis_cli HGET "pi:{$1}:daily" "$2"; }
# send_at MS FROM TO: a message whose RCPT (where the send is reserved) is
# sent when Redis's clock reads MS (the offset in redis.faketime applied to
# the real clock, read as it changes); the session is opened, authenticated
# and past MAIL before that ("ready" in $SVC_DIR/at/TO.ready), so a slow
# machine does not delay the RCPT.  Prints the RCPT's reply, or the end of data's.
send_at() {
    python3 - "$SMTP_PORT" "$2" "$3" "$1" "$SVC_DIR/redis.faketime" "$SVC_DIR/at/${3%@*}.ready" <<'PY'
import smtplib, sys, time
port, sender, rcpt, at_ms, clock, ready = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
s = smtplib.SMTP("127.0.0.1", int(port), "client.test", timeout=300)
s.login("alice@example.test", "secret")
s.mail(sender)
open(ready, "w").close()
def redis_ms():
    with open(clock) as f:
        return (time.time() + float(f.read())) * 1000
while redis_ms() < at_ms:
    time.sleep(0.005)
code, text = s.rcpt(rcpt)
if code == 250:
    code, text = s.data("From: %s\r\nTo: %s\r\nSubject: at %d\r\n\r\nx\r\n" % (sender, rcpt, at_ms))
print(code, text.decode().replace("\n", " "))
s.quit()
PY
}
sends_today() { pi_ctl --json inbox show "$1" | json_get sendsToday; }

# set_clock AT: Redis's clock reads AT (epoch s) now and runs on from
# there, the milter's 2 s behind it, the trigger's offset as Redis's.
set_clock() {
    local offset_ms=$(($1 * 1000 - $(date -u +%s%N) / 1000000))
    # (each file replaced whole: a reader never sees it half written)
    printf '+%d.%03d\n' $((offset_ms / 1000)) $((offset_ms % 1000)) >"$SVC_DIR/redis.faketime.new"
    mv -f "$SVC_DIR/redis.faketime.new" "$SVC_DIR/redis.faketime"
    offset_ms=$((offset_ms - 2000))
    printf '+%d.%03d\n' $((offset_ms / 1000)) $((offset_ms % 1000)) >"$SVC_DIR/milter.faketime.new"
    mv -f "$SVC_DIR/milter.faketime.new" "$SVC_DIR/milter.faketime"
    svc_psql "UPDATE public.test_clock SET offset_ms = $((offset_ms + 2000))" >/dev/null
}
# fake_start AT: Redis (empty) and the milter started again on the clock set_clock moves.
fake_start() {
    pi_stop_milter
    svc_stop_redis
    set_clock "$1"
    SVC_REDIS_WRAP=$(pi_faketime_wrap "file:$SVC_DIR/redis.faketime") \
        svc_start_redis || { t_fail "faked Redis starts"; return 1; }
    PI_MILTER_WRAP=$(pi_faketime_wrap "file:$SVC_DIR/milter.faketime" "$PI_MILTER") \
        pi_start_milter || { t_fail "faked milter starts"; return 1; }
}

svc_psql "CREATE TABLE public.test_clock (offset_ms bigint NOT NULL);
          INSERT INTO public.test_clock VALUES (0);
          CREATE FUNCTION public.test_clock_shift() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
              SET search_path = pg_catalog AS \$\$
          BEGIN
              NEW.created_at := NEW.created_at + (SELECT offset_ms FROM public.test_clock) * interval '1 millisecond';
              RETURN NEW;
          END \$\$;
          CREATE TRIGGER test_clock_shift BEFORE INSERT ON postinbox.message
              FOR EACH ROW EXECUTE FUNCTION public.test_clock_shift();" >/dev/null ||
    t_fail "the test clock trigger"

# SEED: five rows, three on the old day, one on the new (a database clock
# ahead of Redis's), one on the day before.
for i in 1 2 3 4 5; do t_match "(seed: real-time send $i)" '^250 ' "$(send "$SEED" "s$i@remote.test")"; done
svc_psql "WITH r AS (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n
                       FROM postinbox.message WHERE inbox_id = '$SEED_ID')
          UPDATE postinbox.message m
             SET created_at = to_timestamp(CASE WHEN r.n <= 3 THEN $M - 3600 WHEN r.n = 4 THEN $M + 3600
                                                ELSE $M - 86400 - 3600 END)
            FROM r WHERE m.id = r.id" >/dev/null

fake_start $((M - 1800)) || { t_summary; exit 1; }
t_eq "(Redis restarted empty, on the faked clock)" "0 $OLD" "$(svc_redis_cli DBSIZE) $(( $(redis_ms) / 86400000 ))"

# --- counters rebuilt from the rows of Redis's day ---------------------------
t_eq "seed: sendsToday rebuilt from PostgreSQL counts the 3 rows of Redis's day" 3 "$(sends_today "$SEED_ID")"
t_eq "seed: the Redis day field and its seed mark" "3 1" "$(field "$SEED_ID" "$OLD") $(field "$SEED_ID" "s$OLD")"

# --- before midnight (23:30 and on) -------------------------------------------------
t_match "daily cap 2: send 1" '^250 ' "$(send "$DAY" d1@remote.test)"
t_match "daily cap 2: send 2" '^250 ' "$(send "$DAY" d2@remote.test)"
t_match "daily cap 2: the 3rd is 451 4.7.1, resetting at the coming midnight" \
    "^451 4\.7\.1 .*reached its daily send limit, resets at $M_TEXT\$" "$(send "$DAY" d3@remote.test)"

t_match "refund: a send on the old day" '^250 ' "$(send "$REFUND" f1@remote.test)"

# --- the last seconds: every send's session opened before, its RCPT at its time ---
# (the sessions are opened on a clock ten minutes before midnight, which
# moves to 23:59:50 once they are all ready)
set_clock $((M - 600))
# A transaction that reserves at RCPT before midnight and is aborted (RSET) after it.
mkfifo "$SVC_DIR/rset.go"
python3 - "$SMTP_PORT" "$REFUND" "$SVC_DIR/rset.go" >"$SVC_DIR/rset.out" 2>&1 <<'EOF' &
import smtplib, sys
port, sender, go = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = smtplib.SMTP("127.0.0.1", port, "client.test", timeout=120)
s.login("alice@example.test", "secret")
s.mail(sender)
print("rcpt", s.rcpt("f2@remote.test")[0], flush=True)
open(go).read()
print("rset", s.rset()[0], flush=True)
s.quit()
EOF
RSET_PID=$!
mkdir "$SVC_DIR/at"
pids=()
for spec in "-4000 $BURST b1" "-3800 $BURST b2" "-3600 $BURST b3" "-500 $ACROSS a1" "500 $ACROSS a2" \
    "1500 $BURST b4" "2500 $BURST b5"; do
    read -r at from to <<<"$spec"
    send_at $((M * 1000 + at)) "$from" "$to@remote.test" >"$SVC_DIR/at/$to" &
    pids+=($!)
done
for _ in $(seq 1 2400); do
    [ "$(ls "$SVC_DIR/at/"*.ready 2>/dev/null | wc -l)" = 7 ] && grep -q '^rcpt' "$SVC_DIR/rset.out" && break
    sleep 0.25
done
t_eq "refund: the held transaction's RCPT is accepted" "rcpt 250" "$(grep '^rcpt' "$SVC_DIR/rset.out")"
t_eq "(7 sessions ready before 23:59:50)" "7 yes" \
    "$(ls "$SVC_DIR/at/"*.ready | wc -l) $([ "$(redis_ms)" -lt $((M * 1000 - 10000)) ] && echo yes)"
set_clock $((M - 10))
wait "${pids[@]}"
t_eq "refund: reserved on the old day (2 sends)" 2 "$(field "$REFUND_ID" "$OLD")"
for i in 1 2 3; do t_match "burst 4: send $i before midnight" '^250 ' "$(cat "$SVC_DIR/at/b$i")"; done
t_eq "(the burst sends and the 23:59:59.5 one reserved before midnight)" "3 1" \
    "$(svc_redis_cli ZCOUNT "pi:{$BURST_ID}:settled" -inf "($((M * 1000))") $(svc_redis_cli ZCOUNT "pi:{$ACROSS_ID}:settled" -inf "($((M * 1000))")"
t_match "across: a send at 23:59:59.5" '^250 ' "$(cat "$SVC_DIR/at/a1")"
t_match "across: a send at 00:00:00.5" '^250 ' "$(cat "$SVC_DIR/at/a2")"
t_match "burst 4: the 4th, after midnight, fits (3 + 1 in the last minute)" '^250 ' "$(cat "$SVC_DIR/at/b4")"
t_match "burst 4: the 5th is refused across midnight" \
    "^451 4\.7\.1 .*sent too many messages in 60 seconds, retry in ([1-9]|[1-5][0-9]|60) s\$" "$(cat "$SVC_DIR/at/b5")"

# --- after midnight ----------------------------------------------------------------
t_eq "burst: sendsToday 1 (the new day's), the old day's 3" "1 3" "$(sends_today "$BURST_ID") $(field "$BURST_ID" "$OLD")"
t_eq "across: it reserved after midnight" 1 \
    "$(svc_redis_cli ZCOUNT "pi:{$ACROSS_ID}:settled" $((M * 1000)) +inf)"
t_eq "across: one send in each day's field" "1 1" "$(field "$ACROSS_ID" "$OLD") $(field "$ACROSS_ID" "$NEW")"
t_eq "across: sendsToday is the new day's 1" 1 "$(sends_today "$ACROSS_ID")"

t_match "daily cap: reset at midnight, the next send is 250" '^250 ' "$(send "$DAY" d4@remote.test)"
t_eq "daily cap: sendsToday 1, the old day keeps its 2" "1 2" "$(sends_today "$DAY_ID") $(field "$DAY_ID" "$OLD")"

t_match "refund: a send on the new day" '^250 ' "$(send "$REFUND" f3@remote.test)"
echo go >"$SVC_DIR/rset.go"
wait "$RSET_PID"
t_eq "refund: the RSET after midnight is answered" "rset 250" "$(grep '^rset' "$SVC_DIR/rset.out")"
sleep 0.3
t_eq "refund: given back to the old day (2 -> 1), the new day keeps its 1" "1 1" \
    "$(field "$REFUND_ID" "$OLD") $(field "$REFUND_ID" "$NEW")"
t_eq "refund: sendsToday 1" 1 "$(sends_today "$REFUND_ID")"
t_eq "refund: the milter logged it" 1 "$(grep -c "stage=refund inbox=$REFUND refunded=1" "$(pi_milter_log)")"

t_summary
